// Integration-test plumbing: private temp dirs, child processes that are always
// reaped, a private chronyd (-x: never touches the system clock), and the simulator's
// truth file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.h"

namespace vmrefclock::test {

// The build's bin/ and the repository root; VMR_BIN_DIR / VMR_SOURCE_DIR override.
std::string bin_dir();
std::string source_dir();

// A child process with stdout+stderr to a log file; SIGTERM, then SIGKILL, and reaped
// on destruction, so a failing test leaves nothing running.
class Process {
  public:
    // `extra_env`: "NAME=value" entries added to (or replacing in) this process's environment.
    Process(std::vector<std::string> argv, std::string log_path,
            const std::vector<std::string>& extra_env = {});
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    bool running();
    void signal(int signo);
    // Stops the process (SIGTERM, SIGKILL after `grace`) and returns its wait status.
    int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
    std::string log() const;

  private:
    pid_t pid_ = -1;
    std::string log_path_;
    std::optional<int> status_;
};

// Runs a command to completion and returns its stdout (stderr appended); exit code
// through `exit_code`.
std::string run_command(const std::vector<std::string>& argv, int* exit_code = nullptr);

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(100));

int64_t realtime_ns();
void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

// One chrony generation's programs. Debian 12's 4.3 needs >= 4 samples per refclock poll;
// 4.7+ takes one. 4.8's chronyc (built by scripts/chrony-4.8 with a non-root chronyc user)
// drops root to that user unless given -u, so `chronyc_argv` carries "-u root" for it.
struct ChronyBuild {
    std::string name;  // "4.3", "4.8"
    std::string chronyd;
    std::vector<std::string> chronyc_argv;
    bool one_sample_per_poll = false;  // chrony >= 4.7
};
// Debian's chrony (4.3 on Debian 12), from PATH.
const ChronyBuild& system_chrony();
// chrony 4.8 from VMR_CHRONY48_DIR or <build>/chrony-4.8 (scripts/chrony-4.8), if built.
std::optional<ChronyBuild> chrony_48();
// Both generations this machine has: tests run once per entry; 4.8 is absent only when
// scripts/chrony-4.8 has not run, and tests then GTEST_SKIP it (scripts/test builds it).
std::vector<ChronyBuild> chrony_builds();

// chronyd -x -d -f conf (never touches the system clock) as `user` after start-up,
// logging to `log_path`; waits until chronyc answers on `command_socket`.
std::unique_ptr<Process> start_chronyd(const std::string& conf, const std::string& command_socket,
                                       const std::string& log_path,
                                       const std::string& user = "root",
                                       const ChronyBuild& build = system_chrony());

// A private chronyd with one SOCK refclock, its command socket in the temp dir.
class Chrony {
  public:
    // `user`: chronyd drops to it after start-up, as a packaged chronyd does (_chrony);
    // `run_dir`: where its sockets go (created by chronyd), "" = `dir` itself.
    Chrony(const TempDir& dir, int refclock_poll, const std::string& extra_conf = "",
           const std::string& user = "root", const std::string& run_dir = "",
           const ChronyBuild& build = system_chrony());
    ~Chrony();

    const std::string& sock_path() const { return sock_path_; }
    const std::string& command_socket() const { return cmd_path_; }
    // chronyc -h <command socket> -c <args...>: CSV output.
    std::string chronyc(const std::vector<std::string>& args, int* exit_code = nullptr) const;
    // Fields of the refclock's line in `chronyc -c sources` / `sourcestats` (empty if none).
    std::vector<std::string> source_fields() const;
    std::vector<std::string> sourcestats_fields() const;
    // The refclock's reach register as chronyc prints it (octal, "377" = full), or "".
    std::string reach() const;
    // chrony's estimate of true - system now: `chronyc -c tracking` field 5, in seconds.
    std::optional<double> tracking_system_time_s() const;
    std::string log() const { return process_->log(); }
    const ChronyBuild& build() const { return build_; }
    // The program for the daemon's single-program `[chrony] chronyc` key: "chronyc", or a
    // wrapper script in `dir` that adds this build's fixed arguments (4.8: -u root).
    const std::string& chronyc_program() const { return chronyc_program_; }

  private:
    ChronyBuild build_;
    std::string sock_path_;
    std::string cmd_path_;
    std::string chronyc_program_;
    std::unique_ptr<Process> process_;
};

// The simulator's truth file: true - system at time T is
// offset_ns + freq_ppm * 1e-6 * (T - realtime_ns).
struct Truth {
    int64_t realtime_ns = 0;
    double offset_ns = 0;
    double freq_ppm = 0;
    uint64_t disruptions = 0;
    uint64_t marker = 0;             // the page's disruption_marker this truth belongs to
    int64_t disruption_mono_ns = 0;  // CLOCK_MONOTONIC when the latest disruption was written
    double at(int64_t t_ns) const {
        return offset_ns + freq_ppm * 1e-6 * static_cast<double>(t_ns - realtime_ns);
    }
};
std::optional<Truth> read_truth(const std::string& path);

std::vector<std::string> split_csv(const std::string& line);

// One request to vmrefclockd's status socket on a fresh connection: the response
// object, or {"transport": error} when there was none.
nlohmann::json ask_status_socket(const std::string& socket, const nlohmann::json& request);
// The "status" object of a {"cmd":"status"} request, null when there is none.
nlohmann::json status_of(const std::string& socket);

// A vmrefclockd config reading the vmclock page `page` every 0.5 s and feeding `chrony`
// (poll `chrony_poll`), status socket `status_socket`; `extra` is appended verbatim.
std::string vmclock_daemon_config(const std::string& page, const Chrony& chrony, int chrony_poll,
                                  const std::string& status_socket, const std::string& extra = "");

// vmclock-sim publishing `page` with the truth in `truth_file`: host = system + offset_s,
// running freq_ppm fast, a 2 ms step on SIGUSR1. Waits until the truth file exists.
std::unique_ptr<Process> start_vmclock_sim(const TempDir& dir, const std::string& page,
                                           const std::string& truth_file, double offset_s,
                                           double freq_ppm);

}  // namespace vmrefclock::test

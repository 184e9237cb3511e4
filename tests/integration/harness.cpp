#include "tests/integration/harness.h"

#include "ipc/status/status_client.h"
#include "sources/system_clock.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vmrefclock::test {

std::string bin_dir() {
    const char* dir = std::getenv("VMR_BIN_DIR");
    return dir && *dir ? dir : VMR_DEFAULT_BIN_DIR;
}

std::string source_dir() {
    const char* dir = std::getenv("VMR_SOURCE_DIR");
    return dir && *dir ? dir : VMR_DEFAULT_SOURCE_DIR;
}

namespace {
// This process's environment with `extra` ("NAME=value") added, replacing same names.
std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        std::string name = entry.substr(0, entry.find('='));
        bool replaced = false;
        for (const auto& x : extra) replaced |= x.substr(0, x.find('=')) == name;
        if (!replaced) env.push_back(entry);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}
}  // namespace

Process::Process(std::vector<std::string> argv, std::string log_path,
                 const std::vector<std::string>& extra_env)
    : log_path_(std::move(log_path)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    // The test may have blocked signals (the daemon library does); children start clean.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env = environment_with(extra_env);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    int rc = posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
}

Process::~Process() {
    stop();
}

bool Process::running() {
    if (status_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = status;
        return false;
    }
    return true;
}

void Process::signal(int signo) {
    if (running()) kill(pid_, signo);
}

int Process::stop(std::chrono::milliseconds grace) {
    if (status_) return *status_;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!status_) {
        kill(pid_, SIGKILL);
        int status = 0;
        waitpid(pid_, &status, 0);
        status_ = status;
    }
    return *status_;
}

std::string Process::log() const {
    return read_file(log_path_);
}

std::string run_command(const std::vector<std::string>& argv, int* exit_code) {
    char tmpl[] = "/tmp/vmr-cmd-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    int status = 0;
    {
        Process p(argv, tmpl);
        while (p.running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        status = p.stop();
    }
    std::string out = read_file(tmpl);
    unlink(tmpl);
    if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    return out;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(step);
    }
    return condition();
}

int64_t realtime_ns() {
    return read_clock_ns(CLOCK_REALTIME);
}

void write_file(const std::string& path, const std::string& content) {
    std::ofstream(path) << content;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> split_csv(const std::string& line) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, ',')) fields.push_back(field);
    return fields;
}

const ChronyBuild& system_chrony() {
    static const ChronyBuild build{"4.3", "chronyd", {"chronyc"}, false};
    return build;
}

std::optional<ChronyBuild> chrony_48() {
    const char* env = std::getenv("VMR_CHRONY48_DIR");
    const std::string dir = env && *env ? env : VMR_DEFAULT_CHRONY48_DIR;
    const std::string chronyd = dir + "/chronyd", chronyc = dir + "/chronyc";
    if (access(chronyd.c_str(), X_OK) != 0 || access(chronyc.c_str(), X_OK) != 0) {
        return std::nullopt;
    }
    return ChronyBuild{"4.8", chronyd, {chronyc, "-u", "root"}, true};
}

std::vector<ChronyBuild> chrony_builds() {
    std::vector<ChronyBuild> builds{system_chrony()};
    if (auto b48 = chrony_48()) builds.push_back(*b48);
    return builds;
}

std::unique_ptr<Process> start_chronyd(const std::string& conf, const std::string& command_socket,
                                       const std::string& log_path, const std::string& user,
                                       const ChronyBuild& build) {
    auto chronyd = std::make_unique<Process>(
        std::vector<std::string>{build.chronyd, "-x", "-d", "-u", user, "-f", conf}, log_path);
    std::vector<std::string> ask = build.chronyc_argv;
    ask.insert(ask.end(), {"-h", command_socket, "tracking"});
    bool ready = wait_until(
        [&] {
            int rc = 1;
            run_command(ask, &rc);
            return rc == 0;
        },
        std::chrono::seconds(10));
    if (!ready) throw std::runtime_error("private chronyd did not start: " + chronyd->log());
    return chronyd;
}

Chrony::Chrony(const TempDir& dir, int refclock_poll, const std::string& extra_conf,
               const std::string& user, const std::string& run_dir, const ChronyBuild& build)
    : build_(build),
      sock_path_((run_dir.empty() ? dir.path() : run_dir) + "/vmrefclock.sock"),
      cmd_path_((run_dir.empty() ? dir.path() : run_dir) + "/chronyd.sock") {
    std::string conf = dir.file("chrony.conf");
    write_file(conf, "refclock SOCK " + sock_path_ + " refid VMCK poll " +
                         std::to_string(refclock_poll) + " precision 1e-7\n" + "bindcmdaddress " +
                         cmd_path_ + "\n" + "cmdport 0\nport 0\n" + "pidfile " +
                         dir.file("chronyd.pid") + "\n" + extra_conf);
    chronyc_program_ = build_.chronyc_argv.front();
    if (build_.chronyc_argv.size() > 1) {
        chronyc_program_ = dir.file("chronyc-" + build_.name);
        std::string script = "#!/bin/sh\nexec";
        for (const auto& arg : build_.chronyc_argv) script += " '" + arg + "'";
        write_file(chronyc_program_, script + " \"$@\"\n");
        chmod(chronyc_program_.c_str(), 0755);
    }
    process_ = start_chronyd(conf, cmd_path_, dir.file("chronyd.log"), user, build_);
}

Chrony::~Chrony() {
    process_->stop();
}

std::string Chrony::chronyc(const std::vector<std::string>& args, int* exit_code) const {
    std::vector<std::string> argv = build_.chronyc_argv;
    argv.insert(argv.end(), {"-h", cmd_path_, "-c"});
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, exit_code);
}

namespace {
std::vector<std::string> line_with(const std::string& output, const std::string& needle) {
    std::stringstream ss(output);
    std::string line;
    while (std::getline(ss, line)) {
        auto fields = split_csv(line);
        for (const auto& f : fields) {
            if (f == needle) return fields;
        }
    }
    return {};
}
}  // namespace

std::vector<std::string> Chrony::source_fields() const {
    return line_with(chronyc({"sources"}), "VMCK");
}

std::vector<std::string> Chrony::sourcestats_fields() const {
    return line_with(chronyc({"sourcestats"}), "VMCK");
}

std::string Chrony::reach() const {
    auto fields = source_fields();
    return fields.size() > 5 ? fields[5] : "";
}

std::optional<double> Chrony::tracking_system_time_s() const {
    auto fields = split_csv(chronyc({"tracking"}));
    if (fields.size() < 5) return std::nullopt;
    try {
        return std::stod(fields[4]);
    } catch (...) {
        return std::nullopt;
    }
}

nlohmann::json ask_status_socket(const std::string& socket, const nlohmann::json& request) {
    auto client = StatusClient::connect(socket, 2'000'000'000);
    if (!client) return {{"transport", client.error().message}};
    auto response = client->request(request, 2'000'000'000);
    if (!response) return {{"transport", response.error().message}};
    return *response;
}

nlohmann::json status_of(const std::string& socket) {
    nlohmann::json r = ask_status_socket(socket, {{"cmd", "status"}});
    return r.value("ok", false) ? r["status"] : nlohmann::json();
}

std::string vmclock_daemon_config(const std::string& page, const Chrony& chrony, int chrony_poll,
                                  const std::string& status_socket, const std::string& extra) {
    return "[source]\ntype = \"vmclock\"\npath = \"" + page +
           "\"\ninterval = 0.5\nreadings = 10\n[chrony]\nsocket = \"" + chrony.sock_path() +
           "\"\ncontrol_socket = \"" + chrony.command_socket() + "\"\nchronyc = \"" +
           chrony.chronyc_program() + "\"\npoll = " + std::to_string(chrony_poll) +
           "\n[status]\nsocket = \"" + status_socket + "\"\n[log]\nlevel = \"info\"\n" + extra;
}

namespace {
std::string exact(double value) {
    std::ostringstream out;
    out.precision(17);
    out << value;
    return out.str();
}
}  // namespace

std::unique_ptr<Process> start_vmclock_sim(const TempDir& dir, const std::string& page,
                                           const std::string& truth_file, double offset_s,
                                           double freq_ppm) {
    auto sim = std::make_unique<Process>(
        std::vector<std::string>{bin_dir() + "/vmclock-sim", "--page", page, "--offset",
                                 exact(offset_s), "--freq-ppm", exact(freq_ppm),
                                 "--update-interval", "1", "--truth-file", truth_file,
                                 "--disrupt-step", "0.002", "--seed", "1"},
        dir.file("sim.log"));
    if (!wait_until([&] { return read_truth(truth_file).has_value(); }, std::chrono::seconds(10))) {
        throw std::runtime_error("vmclock-sim did not start: " + sim->log());
    }
    return sim;
}

std::optional<Truth> read_truth(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    Truth truth;
    std::string line;
    bool have_time = false;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string key = line.substr(0, eq), value = line.substr(eq + 1);
        try {
            if (key == "realtime_ns") {
                truth.realtime_ns = std::stoll(value);
                have_time = true;
            } else if (key == "offset_ns") {
                truth.offset_ns = std::stod(value);
            } else if (key == "freq_ppm") {
                truth.freq_ppm = std::stod(value);
            } else if (key == "disruptions") {
                truth.disruptions = std::stoull(value);
            } else if (key == "marker") {
                truth.marker = std::stoull(value);
            } else if (key == "disruption_mono_ns") {
                truth.disruption_mono_ns = std::stoll(value);
            }
        } catch (...) {
            return std::nullopt;
        }
    }
    if (!have_time) return std::nullopt;
    return truth;
}

}  // namespace vmrefclock::test

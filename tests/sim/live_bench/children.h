// The bench's child processes: each one's output goes to a log file, each one dies with
// the bench (PR_SET_PDEATHSIG, even on SIGKILL), and Children::stop_all() ends and
// reaps every one still running (SIGTERM, then SIGKILL after a grace period).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vmrefclock::bench {

class Children {
  public:
    Children() = default;
    ~Children() { stop_all(); }
    Children(const Children&) = delete;
    Children& operator=(const Children&) = delete;

    // Starts argv[0] (looked up in PATH) with stdout and stderr appended to `log`.
    // Throws std::runtime_error when it cannot be started.
    pid_t spawn(const std::vector<std::string>& argv, const std::string& log);
    // A process that only burns CPU (the bench's --busy load).
    pid_t spin();
    bool running(pid_t pid);
    void stop_all(int grace_ms = 2000);

  private:
    std::vector<pid_t> pids_;
};

// CPU time the process has used so far, all its live threads summed, in ns
// (/proc/PID/task/*/schedstat: the scheduler's own nanosecond account, of which
// utime + stime in /proc/PID/stat is a tick-sampled split). -1 if unreadable.
int64_t cpu_ns(pid_t pid);

}  // namespace vmrefclock::bench

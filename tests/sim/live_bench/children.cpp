#include "tests/sim/live_bench/children.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace vmrefclock::bench {

namespace {

// In the child, before exec: die with the bench, start with a clean signal state.
void child_setup(pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the bench is already gone
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(s, SIG_DFL);
}

}  // namespace

pid_t Children::spawn(const std::vector<std::string>& argv, const std::string& log) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        child_setup(parent);
        int in = open("/dev/null", O_RDONLY);
        int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in < 0 || out < 0) _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        execvp(args[0], args.data());
        dprintf(2, "cannot run %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    pids_.push_back(pid);
    return pid;
}

pid_t Children::spin() {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        child_setup(parent);
        prctl(PR_SET_NAME, "bench-spin");
        volatile uint64_t x = 0;
        for (;;) x = x + 1;
    }
    pids_.push_back(pid);
    return pid;
}

bool Children::running(pid_t pid) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == 0) return true;
    if (r == pid) std::erase(pids_, pid);
    return false;
}

void Children::stop_all(int grace_ms) {
    // Reverse order: feeders before the chronyds they feed, the simulator last.
    for (auto it = pids_.rbegin(); it != pids_.rend(); ++it) kill(*it, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
    while (!pids_.empty()) {
        for (size_t i = 0; i < pids_.size();) {
            int status = 0;
            pid_t r = waitpid(pids_[i], &status, WNOHANG);
            if (r == pids_[i] || (r < 0 && errno == ECHILD)) {
                pids_.erase(pids_.begin() + static_cast<std::ptrdiff_t>(i));
            } else {
                ++i;
            }
        }
        if (pids_.empty()) break;
        if (std::chrono::steady_clock::now() > deadline) {
            for (pid_t p : pids_) kill(p, SIGKILL);
            for (pid_t p : pids_) waitpid(p, nullptr, 0);
            pids_.clear();
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

int64_t cpu_ns(pid_t pid) {
    std::error_code ec;
    const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
    int64_t total = 0;
    bool any = false;
    for (const auto& t : std::filesystem::directory_iterator(tasks, ec)) {
        std::ifstream in(t.path() / "schedstat");
        int64_t run_ns = 0;
        if (in >> run_ns) {
            total += run_ns;
            any = true;
        }
    }
    return any ? total : -1;
}

}  // namespace vmrefclock::bench

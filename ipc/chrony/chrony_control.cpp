#include "ipc/chrony/chrony_control.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "ipc/sys/process.h"

namespace vmrefclock {

namespace {

std::string seconds_text(int64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) * 1e-9);
    return buf;
}

// Kills chronyc's whole process group (chronyc forks nothing, but a wrapper script
// standing in for it might) and reaps chronyc.
void kill_and_reap(pid_t pid) {
    kill(-pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
    return s;
}

}  // namespace

ChronyControl::ChronyControl(EventLoop& loop, std::string chronyc, std::string control_socket,
                             int64_t timeout_ns)
    : loop_(loop),
      chronyc_(std::move(chronyc)),
      control_socket_(std::move(control_socket)),
      timeout_ns_(timeout_ns),
      timeout_timer_(loop, [this] { on_timeout(); }),
      deferred_report_(loop, [this] { report_spawn_failure(); }),
      request_timer_(loop, [this] { on_request(); }) {}

void ChronyControl::request_reset(std::string_view reason) {
    requested_reason_.assign(reason);
    if (requested_) return;
    requested_ = true;
    drain_waited_ns_ = 0;
    if (!request_timer_.arm(1, 0)) on_request();
}

void ChronyControl::on_request() {
    if (!requested_) return;
    if (drained_ && !drained_()) {
        if (drain_waited_ns_ < kDrainWaitNs && request_timer_.arm(kDrainPollNs, 0)) {
            drain_waited_ns_ += kDrainPollNs;
            return;
        }
        spdlog::warn("chronyd has not read the last samples of the old clock in {} ms",
                     kDrainWaitNs / 1'000'000);
    }
    requested_ = false;
    reset_sources(std::move(requested_reason_));
    requested_reason_.clear();
}

ChronyControl::~ChronyControl() {
    if (pid_ > 0) {
        kill_and_reap(pid_);
        pid_ = -1;
    }
    close_fds();
}

void ChronyControl::reset_sources(std::string reason) {
    if (!enabled()) {
        spdlog::debug("chrony reset ({}) skipped: no control socket configured", reason);
        return;
    }
    if (busy()) {
        spdlog::debug("chrony reset ({}) queued behind the running one", reason);
        queued_ = true;
        queued_reason_ = std::move(reason);
        return;
    }
    reason_ = std::move(reason);
    start();
}

void ChronyControl::start() {
    output_.clear();
    timed_out_ = false;
    std::vector<std::string> args = {chronyc_};
    args.insert(args.end(), options_.begin(), options_.end());
    args.insert(args.end(), {"-h", control_socket_, "reset", "sources"});
    std::string command;
    for (const auto& a : args) command += (command.empty() ? "" : " ") + a;
    spdlog::info("resetting chrony sources ({}): {}", reason_, command);

    auto fail_spawn = [this](std::string error) {
        // Reported from the loop so that on_done never runs inside reset_sources().
        spawn_failed_ = true;
        spawn_error_ = std::move(error);
        if (!deferred_report_.arm(1, 0)) report_spawn_failure();
    };

    // Its own process group lets a timeout kill all of it.
    auto spawned = spawn_process(args, {.own_process_group = true, .nonblocking_output = true});
    if (!spawned) return fail_spawn(spawned.error().message);
    const pid_t pid = spawned->pid;
    const int read_fd = spawned->output_fd;

    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        // Without a pidfd the exit cannot be watched from the loop (kernels before 5.3).
        const int e = errno;
        kill_and_reap(pid);
        close(read_fd);
        return fail_spawn(errno_error("pidfd_open", e).message);
    }

    pid_ = pid;
    pidfd_ = pidfd;
    output_fd_ = read_fd;
    auto watched_output = loop_.add(output_fd_, EPOLLIN, [this](uint32_t) { on_output(); });
    auto watched_exit = loop_.add(pidfd_, EPOLLIN, [this](uint32_t) { on_exit(); });
    auto armed = timeout_timer_.arm(timeout_ns_, 0);
    if (!watched_output || !watched_exit || !armed) {
        // Unwatched, the child would never be reaped: undo the spawn.
        const Error& e = !watched_output ? watched_output.error()
                         : !watched_exit ? watched_exit.error()
                                         : armed.error();
        kill_and_reap(pid_);
        pid_ = -1;
        close_fds();
        return fail_spawn("cannot watch chronyc: " + e.message);
    }
}

void ChronyControl::on_output() {
    if (output_fd_ < 0) return;
    char buf[4096];
    for (;;) {
        ssize_t n = read(output_fd_, buf, sizeof buf);
        if (n > 0) {
            // Keep reading past the bound so a chatty child never blocks on a full pipe.
            const size_t room = kMaxOutputBytes - std::min(output_.size(), kMaxOutputBytes);
            output_.append(buf, std::min(room, static_cast<size_t>(n)));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        // EOF (or a read error): stop watching, or EPOLLHUP would fire forever.
        loop_.remove(output_fd_);
        close(output_fd_);
        output_fd_ = -1;
        return;
    }
}

void ChronyControl::on_exit() {
    if (pid_ <= 0) return;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return;  // pidfd readable before the exit is reapable: not expected
    if (r < 0 && errno == EINTR) return;
    // Whatever the child wrote before exiting is in the pipe now.
    on_output();
    pid_ = -1;

    std::string detail;
    bool ok = false;
    if (r < 0) {
        // ECHILD: someone else reaped it (a waitpid(-1) elsewhere in the process).
        detail = errno_error("waitpid", errno).message;
    } else if (timed_out_) {
        detail = "timed out after " + seconds_text(timeout_ns_) + ", killed";
    } else if (WIFEXITED(status)) {
        ok = WEXITSTATUS(status) == 0;
        detail = "exit status " + std::to_string(WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        detail = "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                 strsignal(WTERMSIG(status)) + ")";
    } else {
        detail = "ended with wait status " + std::to_string(status);
    }
    std::string out = trimmed(output_);
    if (!out.empty()) detail += ": " + out;
    if (output_.size() >= kMaxOutputBytes) detail += " [output truncated]";
    finish(ok, std::move(detail));
}

void ChronyControl::on_timeout() {
    if (pid_ <= 0 || timed_out_) return;
    spdlog::warn("chronyc still running after {}, killing it", seconds_text(timeout_ns_));
    timed_out_ = true;
    // Not yet reaped, so the pid (and group id) cannot have been reused.
    kill(-pid_, SIGKILL);
    // The exit then arrives through the pidfd like any other.
}

void ChronyControl::report_spawn_failure() {
    if (!spawn_failed_) return;
    spawn_failed_ = false;
    finish(false, spawn_error_);
}

void ChronyControl::finish(bool ok, std::string detail) {
    close_fds();
    if (ok) {
        spdlog::info("chrony sources reset ({}): {}", reason_, detail);
    } else {
        spdlog::warn("chrony reset ({}) failed: {}", reason_, detail);
    }
    const bool run_again = queued_;
    std::string next_reason = std::move(queued_reason_);
    // A copy: the callback may replace on_done. queued() still says whether a run follows.
    auto callback = on_done;
    if (callback) callback(ok, detail);
    queued_ = false;
    if (run_again && !busy()) {
        reason_ = std::move(next_reason);
        start();
    }
}

void ChronyControl::close_fds() {
    timeout_timer_.disarm();
    if (output_fd_ >= 0) {
        loop_.remove(output_fd_);
        close(output_fd_);
        output_fd_ = -1;
    }
    if (pidfd_ >= 0) {
        loop_.remove(pidfd_);
        close(pidfd_);
        pidfd_ = -1;
    }
}

}  // namespace vmrefclock

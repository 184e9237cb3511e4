// Makes chronyd forget its measurements after a clock disruption by running
// "chronyc -h <control_socket> reset sources", without ever blocking the event loop:
// the child's exit arrives through a pidfd and its output through a non-blocking pipe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "filter/sink.h"
#include "ipc/sys/event_loop.h"

namespace vmrefclock {

class ChronyControl final : public ChronyResetter {
  public:
    static constexpr int64_t kDefaultTimeoutNs = 5'000'000'000;
    // How long a requested reset waits for the old clock's samples to be read, and how
    // often it looks.
    static constexpr int64_t kDrainWaitNs = 100'000'000;
    static constexpr int64_t kDrainPollNs = 1'000'000;
    static constexpr size_t kMaxOutputBytes = 4096;

    ChronyControl(EventLoop& loop, std::string chronyc, std::string control_socket,
                  int64_t timeout_ns = kDefaultTimeoutNs);
    // Kills (SIGKILL) and reaps a chronyc still running: no zombie, no orphan.
    ~ChronyControl() override;
    ChronyControl(const ChronyControl&) = delete;
    ChronyControl& operator=(const ChronyControl&) = delete;

    // Options placed before "-h <control_socket>", e.g. {"-u", "root"} for a chronyc
    // that would drop root to its own user (chrony 4.8 built with a chronyc user).
    void set_options(std::vector<std::string> options) { options_ = std::move(options); }

    // False when control_socket is empty: reset_sources() then does nothing.
    bool enabled() const override { return !control_socket_.empty(); }

    // ChronyResetter: reset_sources() from the loop, right after the current handler
    // (spawning chronyc blocks for its exec; the disruption's other effects should not
    // wait for it), once `drained` (set_drained) says chronyd has read the old clock's
    // last samples: one still queued would reach chrony after its reset. Asks every
    // kDrainPollNs, for at most kDrainWaitNs; never blocks the loop. Requests made while
    // one waits collapse into it.
    void request_reset(std::string_view reason) override;
    void set_drained(std::function<bool()> drained) { drained_ = std::move(drained); }

    // Starts chronyc and returns at once. While one runs, further requests collapse
    // into a single queued run (a reset after the current one covers them all).
    // `reason` only goes to the log.
    void reset_sources(std::string reason);

    // Called on the loop thread when a run ends, including when chronyc cannot be
    // started at all; never from inside reset_sources(). `detail` is the exit status
    // (or the spawn error or timeout) followed by what chronyc printed.
    // It may call reset_sources() but must not destroy this object. During it, queued()
    // says whether another run (of requests made during this one) follows.
    std::function<void(bool ok, const std::string& detail)> on_done;

    bool busy() const { return pid_ > 0 || spawn_failed_; }
    bool queued() const { return queued_; }

  private:
    void on_request();
    void start();
    void on_output();
    void on_exit();
    void on_timeout();
    void report_spawn_failure();
    void finish(bool ok, std::string detail);
    void close_fds();

    EventLoop& loop_;
    std::string chronyc_;
    std::string control_socket_;
    std::vector<std::string> options_;
    int64_t timeout_ns_;

    pid_t pid_ = -1;
    int pidfd_ = -1;
    int output_fd_ = -1;
    std::string output_;
    bool timed_out_ = false;
    bool spawn_failed_ = false;
    std::string spawn_error_;
    std::string reason_;
    bool queued_ = false;
    std::string queued_reason_;
    Timer timeout_timer_;
    // Reports a spawn failure from the loop rather than from inside reset_sources().
    Timer deferred_report_;
    std::function<bool()> drained_;
    std::string requested_reason_;
    bool requested_ = false;
    int64_t drain_waited_ns_ = 0;
    Timer request_timer_;
};

}  // namespace vmrefclock

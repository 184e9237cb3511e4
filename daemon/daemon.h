// vmrefclockd's wiring: config -> sources, pipeline, chrony sink and control, status
// socket and systemd notifications, all on one event loop (timerfd for polls, signalfd
// for signals).
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "daemon/host_notifications.h"
#include "daemon/pipeline.h"
#include "daemon/trace_recorder.h"
#include "ipc/chrony_control.h"
#include "ipc/chrony_sock.h"
#include "ipc/clockbound_writer.h"
#include "ipc/event_loop.h"
#include "ipc/status_server.h"
#include "systemd/notify.h"

namespace vmrefclock {

class Daemon {
  public:
    // Blocks SIGINT/SIGTERM/SIGHUP for the process first: call before starting threads.
    static Result<std::unique_ptr<Daemon>> create(Config config, std::string config_path);
    ~Daemon();

    // Runs until SIGINT or SIGTERM.
    Status run();

  private:
    class SockSinkAdapter;
    class ControlAdapter;

    Daemon(Config config, std::string config_path);
    Status start(SourceSet sources);
    Status start_status_server();
    void on_poll();
    void on_watch();
    void on_signal();
    void reload();
    void notify_after_poll();
    Status start_host_notifications(const SourceSet& sources);
    // The bounded-time segment, once per poll (`after_poll`) and on a disruption noticed
    // between polls (the watch timer or a vmclock notification, both through on_watch).
    void publish_bound(bool after_poll, bool fed_chrony);
    StatusSnapshot snapshot() const;

    Config config_;
    std::string config_path_;
    EventLoop loop_;
    Notifier notifier_;
    ChronySockSink sock_;
    ChronyControl control_;
    std::unique_ptr<SockSinkAdapter> sink_adapter_;
    std::unique_ptr<ControlAdapter> control_adapter_;
    std::unique_ptr<Pipeline> pipeline_;
    std::unique_ptr<TraceRecorder> recorder_;
    std::unique_ptr<StatusServer> status_server_;
    std::unique_ptr<ClockBoundWriter> clockbound_;
    std::unique_ptr<HostNotifications> host_notifications_;
    std::string source_type_;
    std::string source_path_;
    Timer poll_timer_;
    int64_t armed_interval_ns_ = 0;  // the poll timer's period now
    Timer watch_timer_;              // reads the disruption signal between polls
    int signal_fd_ = -1;
    int64_t started_mono_ns_ = 0;
    bool ready_sent_ = false;
};

}  // namespace vmrefclock

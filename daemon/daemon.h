// vmrefclockd's wiring: config -> sources, pipeline, chrony sink and control, status
// socket and systemd notifications, all on one event loop (timerfd for polls, signalfd
// for signals, inotify for the chrony socket's directory and for clock devices).
#pragma once

#include <memory>
#include <set>
#include <string>

#include "config/config.h"
#include "daemon/host_notifications.h"
#include "daemon/pipeline.h"
#include "daemon/sinks.h"
#include "daemon/trace_recorder.h"
#include "ipc/chrony/chrony_control.h"
#include "ipc/ctl/startup_checks.h"
#include "ipc/status/status_server.h"
#include "ipc/sys/dir_watch.h"
#include "ipc/sys/event_loop.h"
#include "systemd/notify.h"

namespace vmrefclock {

class Daemon {
  public:
    // Blocks SIGINT/SIGTERM/SIGHUP/SIGUSR1 for the process first: call before starting
    // threads. `chronyc` is what check_startup() found (its options for a root daemon).
    static Result<std::unique_ptr<Daemon>> create(Config config, std::string config_path,
                                                  const ChronycInfo& chronyc = {});
    ~Daemon();

    // Runs until SIGINT or SIGTERM (Ok), or until the daemon must give way (an error).
    Status run();
    // What main() returns after run(): 0, 1, or kRestartExitStatus when the service
    // must be started again to reach a clock device that appeared after it started.
    int exit_status() const { return exit_status_; }

  private:
    Daemon(Config config, std::string config_path);
    Status start();
    Status start_status_server();
    void use_sources(SourceSet sources);
    void wait_for_source(const std::string& reason);
    void look_for_source();
    void watch_for_sources();
    void watch_chrony_socket();
    void on_chrony_directory(const std::string& name);
    void on_poll();
    void on_watch();
    void update_watch_timer();
    void on_signal();
    void reload();
    void log_status() const;
    void notify_after_poll();
    Status start_host_notifications(const SourceSet& sources);
    StatusSnapshot snapshot() const;
    std::string sources_report() const;

    Config config_;
    std::string config_path_;
    EventLoop loop_;
    Notifier notifier_;
    ChronyControl control_;
    SinkSet sinks_;  // built from the config in start()
    std::unique_ptr<Pipeline> pipeline_;
    std::unique_ptr<TraceRecorder> recorder_;
    std::unique_ptr<StatusServer> status_server_;
    std::unique_ptr<HostNotifications> host_notifications_;
    std::string source_type_;
    std::string source_path_;
    Timer poll_timer_;
    int64_t armed_interval_ns_ = 0;  // the poll timer's period now
    Timer watch_timer_;              // reads the disruption signal between polls
    bool watch_armed_ = false;       // unless the page notifies its updates
    // No time source yet: discovery again every few seconds and when a device appears.
    bool waiting_for_source_ = false;
    Timer discovery_timer_;
    Timer discovery_soon_;
    std::vector<std::unique_ptr<DirectoryWatch>> device_watches_;
    std::unique_ptr<DirectoryWatch> chrony_watch_;
    int64_t last_early_poll_ns_ = 0;
    int signal_fd_ = -1;
    int64_t started_mono_ns_ = 0;
    bool ready_sent_ = false;
    std::optional<Error> fatal_;
    int exit_status_ = 0;
    std::set<std::string> devices_at_start_;
};

}  // namespace vmrefclock

// vmrefclockd's wiring: config -> source, pipeline, chrony sink and control, all on one
// event loop (timerfd for polls, signalfd for signals).
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "daemon/pipeline.h"
#include "ipc/chrony_control.h"
#include "ipc/chrony_sock.h"
#include "ipc/event_loop.h"

namespace vmrefclock {

// Opens the source the config names; the error says which and why.
Result<std::unique_ptr<Source>> open_source(const Config& config);

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
    Status start(std::unique_ptr<Source> source);
    void on_poll();
    void on_signal();
    void reload();

    Config config_;
    std::string config_path_;
    EventLoop loop_;
    ChronySockSink sock_;
    ChronyControl control_;
    std::unique_ptr<SockSinkAdapter> sink_adapter_;
    std::unique_ptr<ControlAdapter> control_adapter_;
    std::unique_ptr<Pipeline> pipeline_;
    Timer poll_timer_;
    int signal_fd_ = -1;
};

}  // namespace vmrefclock

#include "daemon/daemon.h"

#include <grp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "daemon/logging.h"
#include "daemon/source_setup.h"
#include "daemon/status_snapshot.h"
#include "sources/system_clock.h"
#include "sources/vmclock/vmclock_source.h"

namespace vmrefclock {

namespace {
// How often the disruption signal is read between polls: a disruption noticed this much
// late misses the refclock poll it falls before at most that often (50 ms in 4 s: 1.3 %).
constexpr int64_t kWatchIntervalNs = 50'000'000;

int64_t seconds_to_ns(double s) {
    return static_cast<int64_t>(std::llround(s * 1e9));
}
}  // namespace

class Daemon::SockSinkAdapter : public SampleSink {
  public:
    explicit SockSinkAdapter(ChronySockSink& sink) : sink_(sink) {}
    Status send(const Sample& sample, int64_t now_mono_ns) override {
        return sink_.send(sample, now_mono_ns);
    }
    bool wait_read(int64_t timeout_ns) override { return sink_.wait_read(timeout_ns); }
    bool connected() const override { return sink_.connected(); }
    std::string last_error() const override { return sink_.last_error(); }

  private:
    ChronySockSink& sink_;
};

class Daemon::ControlAdapter : public ChronyResetter {
  public:
    ControlAdapter(EventLoop& loop, ChronyControl& control)
        : control_(control), deferred_(loop, [this] { control_.reset_sources(reason_); }) {}
    bool enabled() const override { return control_.enabled(); }
    // Run from the loop right after the current handler: spawning chronyc blocks for
    // its exec, and the disruption's other effects (the bounded-time segment marked
    // Disrupted) should not wait for it. ChronyControl logs the command and outcome.
    void reset_sources(const std::string& reason) override {
        reason_ = reason;
        if (!deferred_.arm(1, 0)) control_.reset_sources(reason_);
    }

  private:
    ChronyControl& control_;
    std::string reason_;
    Timer deferred_;
};

Daemon::Daemon(Config config, std::string config_path)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      sock_(config_.chrony.socket),
      control_(loop_, config_.chrony.chronyc, config_.chrony.control_socket),
      poll_timer_(loop_, [this] { on_poll(); }),
      watch_timer_(loop_, [this] { on_watch(); }) {}

Daemon::~Daemon() {
    if (signal_fd_ >= 0) {
        loop_.remove(signal_fd_);
        close(signal_fd_);
    }
}

Result<std::unique_ptr<Daemon>> Daemon::create(Config config, std::string config_path) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    // Blocked so they arrive only through the signalfd, on the loop.
    if (sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
        return errno_error("sigprocmask", errno);
    }
    auto sources = open_sources(config);
    if (!sources) return sources.error();
    std::unique_ptr<Daemon> daemon(new Daemon(std::move(config), std::move(config_path)));
    daemon->signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (daemon->signal_fd_ < 0) {
        return errno_error("signalfd", errno);
    }
    Status started = daemon->start(std::move(*sources));
    if (!started) return started.error();
    return daemon;
}

Status Daemon::start(SourceSet sources) {
    started_mono_ns_ = read_clock_ns(CLOCK_MONOTONIC);
    source_type_ = sources.type;
    source_path_ = sources.path;
    sink_adapter_ = std::make_unique<SockSinkAdapter>(sock_);
    control_adapter_ = std::make_unique<ControlAdapter>(loop_, control_);
    if (config_.clockbound.enabled) {
        auto writer = ClockBoundWriter::open(config_.clockbound.path);
        if (!writer) return writer.error();
        clockbound_ = std::move(*writer);
        spdlog::info("clockbound segment {} ({})", clockbound_->path(),
                     clockbound_->warm_restart() ? "warm restart: the existing segment is reused"
                                                 : "new segment");
    }
    if (Status watched = start_host_notifications(sources); !watched) return watched;
    // The default filter is the first one make_sample_filter knows.
    auto filter = make_sample_filter(sample_filter_names().front());
    if (!filter) return filter.error();
    pipeline_ = std::make_unique<Pipeline>(config_, std::move(sources), std::move(*filter),
                                           *sink_adapter_, *control_adapter_);
    if (!config_.source.record.empty()) {
        recorder_ = std::make_unique<TraceRecorder>(
            config_.source.record, static_cast<uint64_t>(config_.source.record_max_mb) << 20);
        pipeline_->set_batch_recorder([this](const Batch& b) { recorder_->record(b); });
        spdlog::info("recording raw readings to {} (at most {} MB, then {}.1)",
                     config_.source.record, config_.source.record_max_mb, config_.source.record);
    }
    // A reset is done when no other run follows it (requests during a run collapse into one).
    control_.on_done = [this](bool ok, const std::string&) {
        if (!control_.queued()) pipeline_->chrony_reset_done(ok, read_clock_ns(CLOCK_MONOTONIC));
    };
    Status added = loop_.add(signal_fd_, EPOLLIN, [this](uint32_t) { on_signal(); });
    if (!added) return added;
    if (Status status = start_status_server(); !status) return status;
    const int64_t interval_ns = seconds_to_ns(config_.source.interval_s);
    spdlog::info(
        "vmrefclockd {} started: {} every {} s, {} readings; disruptions from {}; "
        "feeding {}",
        VMREFCLOCK_VERSION, pipeline_->source_description(), config_.source.interval_s,
        config_.source.readings, pipeline_->disruption_signal(), config_.chrony.socket);
    notifier_.status("starting: " + pipeline_->source_description());
    armed_interval_ns_ = interval_ns;
    if (interval_ns > kWatchIntervalNs) {
        if (Status s = watch_timer_.arm(kWatchIntervalNs, kWatchIntervalNs); !s) return s;
    }
    return poll_timer_.arm(1, interval_ns);  // first poll at once
}

Status Daemon::start_host_notifications(const SourceSet& sources) {
    // The page that carries the disruption marker: the source itself, or the one beside
    // a PHC. Its own fd (a second open) is watched, so the pipeline's reads are untouched.
    std::string page;
    if (sources.type == "vmclock") page = sources.path;
    if (sources.type != "vmclock" && sources.signal) page = config_.disruption.vmclock;
    if (page.empty()) return Ok{};
    auto signal = VmclockSignal::open(page, config_.disruption.notify_fifo);
    if (!signal) return signal.error();
    host_notifications_ = std::make_unique<HostNotifications>(
        loop_, std::move(*signal), [this](const HostInfo&) { on_watch(); });
    host_notifications_->start();
    return Ok{};
}

void Daemon::publish_bound(bool after_poll, bool fed_chrony) {
    if (!clockbound_) return;
    BoundInput in;
    in.fed_chrony = fed_chrony;
    in.now_coarse_mono_ns = read_clock_ns(CLOCK_MONOTONIC_COARSE);
    in.state = pipeline_->state();
    in.disruptions = pipeline_->disruptions().count;
    // A fresh bound when this poll produced a trusted sample: the model behind it, with
    // its hard (worst-case) bound rather than the statistical one chrony is sent.
    const auto estimate = pipeline_->estimate();
    if (after_poll && pipeline_->poll_sample() && estimate) {
        BoundMeasurement m;
        m.offset_ns = estimate->offset_ns;
        m.error_ns = estimate->worst_case_bound_ns.value_or(estimate->error_bound_ns);
        m.age_ns = read_clock_ns(CLOCK_REALTIME) - estimate->time_ns;
        m.frequency_ppm = estimate->frequency_ppm;
        m.frequency_stddev_ppm = estimate->frequency_stddev_ppm;
        in.fresh = m;
    }
    if (const auto& host = pipeline_->host()) in.disruption_marker = host->disruption_marker;
    clockbound_->publish(in);
}

Status Daemon::start_status_server() {
    if (config_.status.socket.empty()) return Ok{};
    StatusServerOptions options;
    options.socket_path = config_.status.socket;
    options.group = config_.status.group;
    if (options.group.empty()) {
        // "" means the daemon's own group, which may then also ask for a reset.
        if (const group* g = getgrgid(getegid())) options.group = g->gr_name;
    }
    StatusCallbacks callbacks;
    callbacks.snapshot = [this] { return snapshot(); };
    callbacks.samples = [this](size_t n) {
        const auto& recent = pipeline_->recent();
        n = std::min(n, recent.size());
        return std::vector<SampleRecord>(recent.end() - static_cast<std::ptrdiff_t>(n),
                                         recent.end());
    };
    callbacks.reset = [this](const std::string& reason) -> Status {
        pipeline_->disrupt({Disruption::Cause::manual, reason.empty() ? "operator reset" : reason},
                           read_clock_ns(CLOCK_MONOTONIC), read_clock_ns(CLOCK_REALTIME));
        return Ok{};
    };
    callbacks.sources = [this] { return list_sources(config_); };
    auto server = StatusServer::create(loop_, options, std::move(callbacks));
    if (!server) return server.error();
    status_server_ = std::move(*server);
    return Ok{};
}

StatusSnapshot Daemon::snapshot() const {
    return build_snapshot(
        *pipeline_, sock_,
        {source_type_, source_path_, started_mono_ns_, read_clock_ns(CLOCK_MONOTONIC)});
}

Status Daemon::run() {
    return loop_.run();
}

void Daemon::on_poll() {
    PollClocks clocks;
    clocks.mono_ns = read_clock_ns(CLOCK_MONOTONIC);
    clocks.boottime_ns = read_clock_ns(CLOCK_BOOTTIME);
    clocks.real_ns = read_clock_ns(CLOCK_REALTIME);
    clocks.mono_after_ns = read_clock_ns(CLOCK_MONOTONIC);
    clocks.raw_ns = read_clock_ns(CLOCK_MONOTONIC_RAW);
    const uint64_t sent_before = pipeline_->samples_sent();
    pipeline_->poll(clocks);
    // Faster while chrony recovers from a start or disruption (see HoldOff).
    const int64_t interval_ns =
        pipeline_->sampling_interval_ns(seconds_to_ns(config_.source.interval_s));
    if (interval_ns != armed_interval_ns_ && poll_timer_.arm(interval_ns, interval_ns)) {
        armed_interval_ns_ = interval_ns;
    }
    publish_bound(true, pipeline_->samples_sent() != sent_before);
    notify_after_poll();
}

void Daemon::on_watch() {
    if (!pipeline_->can_watch()) return;
    PollClocks clocks;
    clocks.mono_ns = read_clock_ns(CLOCK_MONOTONIC);
    clocks.boottime_ns = read_clock_ns(CLOCK_BOOTTIME);
    clocks.mono_after_ns = read_clock_ns(CLOCK_MONOTONIC);
    clocks.real_ns = read_clock_ns(CLOCK_REALTIME);
    if (!pipeline_->watch(clocks)) return;
    // A disruption: readers see Disrupted at once, then a bound of the new clock from
    // the poll (samples stay withheld: the hold-off has begun).
    publish_bound(false, false);
    on_poll();  // the new clock's first sample, now
}

void Daemon::notify_after_poll() {
    if (!notifier_.enabled()) return;  // not under systemd: no line to build
    // The watchdog is fed only while polls complete: a stuck or vanished source lets
    // systemd restart us.
    if (pipeline_->last_poll_completed()) notifier_.watchdog();
    if (!ready_sent_ && pipeline_->samples_sent() > 0) {
        notifier_.ready();
        ready_sent_ = true;
    }
    std::string line = std::string(to_string(pipeline_->state()));
    if (auto e = pipeline_->estimate()) line += fmt::format(", offset {:+.0f} ns", e->offset_ns);
    notifier_.status(line + ": " + pipeline_->reason());
}

void Daemon::on_signal() {
    signalfd_siginfo info{};
    while (read(signal_fd_, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGHUP) {
            reload();
        } else {
            spdlog::info("signal {} received, stopping",
                         strsignal(static_cast<int>(info.ssi_signo)));
            notifier_.stopping();
            loop_.stop();
        }
    }
}

void Daemon::reload() {
    notifier_.reloading();
    auto fresh = load_config(config_path_);
    if (!fresh) {
        spdlog::error("reload: keeping the running configuration: {}", fresh.error().message);
        if (ready_sent_) notifier_.ready();
        return;
    }
    // Log level and poll timing apply at once; the rest needs a restart.
    if (Status level = set_log_level(fresh->log.level); !level) {
        spdlog::error("reload: {}", level.error().message);
    }
    if (fresh->source.interval_s != config_.source.interval_s) {
        config_.source.interval_s = fresh->source.interval_s;
        const int64_t interval_ns = seconds_to_ns(config_.source.interval_s);
        if (poll_timer_.arm(interval_ns, interval_ns)) armed_interval_ns_ = interval_ns;
    }
    config_.log = fresh->log;
    spdlog::info(
        "reload: configuration re-read from {} (source and chrony settings apply at "
        "the next restart)",
        config_path_);
    // systemd holds the unit in "reloading" until READY=1 follows RELOADING=1; before
    // the first sample the initial READY=1 ends it.
    if (ready_sent_) notifier_.ready();
}

}  // namespace vmrefclock

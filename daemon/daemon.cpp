#include "daemon/daemon.h"

#include <grp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "daemon/logging.h"
#include "daemon/status_snapshot.h"
#include "sources/source_plan.h"
#include "sources/system_clock.h"
#include "sources/vmclock/vmclock_source.h"

namespace vmrefclock {

namespace {
// How often the disruption signal is read between polls (when the page does not notify).
// chrony recovers three refclock polls after the reset: a disruption noticed d late costs
// a poll only when it came less than d before a poll boundary, and then recovery ends
// at most d after those three polls (12 s + 100 ms at poll 2, in 2.5 % of disruptions).
// Each wake-up costs about 20 us of CPU on a virtual machine, as much as a whole poll's
// work: at 50 ms the watch alone cost more CPU than chronyd (live bench).
constexpr int64_t kWatchIntervalNs = 100'000'000;

// Discovery runs again this often while there is no time source (and at once, after a
// short settling delay, when a device appears in the watched directories).
constexpr int64_t kDiscoveryIntervalNs = 5'000'000'000;
constexpr int64_t kDeviceSettleNs = 200'000'000;
// Polls brought forward by a re-created chrony socket are at least this far apart.
constexpr int64_t kMinEarlyPollSpacingNs = 250'000'000;

// The clocks a poll or a watch starts from, in PollClocks' order: BOOTTIME and REALTIME
// between two MONOTONIC reads (a suspend or a step of the guest's clock shows with a
// known bracket), then MONOTONIC_RAW and the coarse clock the segment's readers use.
PollClocks read_poll_clocks() {
    PollClocks clocks;
    clocks.mono_ns = read_clock_ns(CLOCK_MONOTONIC);
    clocks.boottime_ns = read_clock_ns(CLOCK_BOOTTIME);
    clocks.real_ns = read_clock_ns(CLOCK_REALTIME);
    clocks.mono_after_ns = read_clock_ns(CLOCK_MONOTONIC);
    clocks.raw_ns = read_clock_ns(CLOCK_MONOTONIC_RAW);
    clocks.coarse_mono_ns = read_clock_ns(CLOCK_MONOTONIC_COARSE);
    return clocks;
}

int64_t seconds_to_ns(double s) {
    return static_cast<int64_t>(std::llround(s * 1e9));
}

std::string directory_of(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Stands in for the time source while there is none, so the pipeline (and the status
// it reports) exists from the start.
class MissingSource : public Source {
  public:
    Result<Batch> poll(int) override { return make_error("no time source"); }
    std::string describe() const override { return "no time source"; }
};

sigset_t handled_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&signals, s);
    return signals;
}

}  // namespace

Daemon::Daemon(Config config, std::string config_path)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      control_(loop_, config_.chrony.chronyc, config_.chrony.control_socket),
      poll_timer_(loop_, [this] { on_poll(); }),
      watch_timer_(loop_, [this] { on_watch(); }),
      discovery_timer_(loop_, [this] { look_for_source(); }),
      discovery_soon_(loop_, [this] { look_for_source(); }) {}

Daemon::~Daemon() {
    if (signal_fd_ >= 0) {
        loop_.remove(signal_fd_);
        close(signal_fd_);
    }
}

Result<std::unique_ptr<Daemon>> Daemon::create(Config config, std::string config_path,
                                               const ChronycInfo& chronyc) {
    sigset_t signals = handled_signals();
    // Blocked so they arrive only through the signalfd, on the loop.
    if (sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
        return errno_error("sigprocmask", errno);
    }
    std::unique_ptr<Daemon> daemon(new Daemon(std::move(config), std::move(config_path)));
    daemon->control_.set_options(chronyc_options(chronyc, geteuid() == 0));
    daemon->signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (daemon->signal_fd_ < 0) {
        return errno_error("signalfd", errno);
    }
    Status started = daemon->start();
    if (!started) return started.error();
    return daemon;
}

Status Daemon::start() {
    started_mono_ns_ = read_clock_ns(CLOCK_MONOTONIC);
    auto sinks = make_sinks(config_);
    if (!sinks) return sinks.error();
    sinks_ = std::move(*sinks);
    control_.set_drained([this] { return sinks_.chrony->all_read(); });
    // A reset is done when no other run follows it (requests during a run collapse into one).
    control_.on_done = [this](bool ok, const std::string&) {
        if (!control_.queued() && pipeline_) {
            pipeline_->chrony_reset_done(ok, read_clock_ns(CLOCK_MONOTONIC));
        }
    };
    Status added = loop_.add(signal_fd_, EPOLLIN, [this](uint32_t) { on_signal(); });
    if (!added) return added;
    // First: the instance lock beside the status socket keeps a second daemon from
    // feeding the same chrony.
    if (Status status = start_status_server(); !status) return status;
    notifier_.status("starting");
    watch_chrony_socket();
    devices_at_start_ = present_devices(plan_sources(config_));
    auto sources = open_sources(config_);
    if (!sources) {
        wait_for_source(sources.error().message);
        return Ok{};
    }
    use_sources(std::move(*sources));
    return Ok{};
}

void Daemon::use_sources(SourceSet sources) {
    waiting_for_source_ = false;
    discovery_timer_.disarm();
    discovery_soon_.disarm();
    device_watches_.clear();
    source_type_ = source_kind_name(sources.type);
    source_path_ = sources.path;
    if (Status watched = start_host_notifications(sources); !watched) {
        // Polling still reads the marker; only the immediate reaction is lost.
        spdlog::warn("not watching the vmclock page for notifications: {}",
                     watched.error().message);
    }
    pipeline_ = std::make_unique<Pipeline>(config_, std::move(sources), make_default_filter(),
                                           sinks_.pointers(), control_);
    if (!config_.source.record.empty()) {
        if (!recorder_) {
            recorder_ = std::make_unique<TraceRecorder>(
                config_.source.record, static_cast<uint64_t>(config_.source.record_max_mb) << 20);
            spdlog::info("recording raw readings to {} (at most {} MB, then {}.1)",
                         config_.source.record, config_.source.record_max_mb,
                         config_.source.record);
        }
        pipeline_->set_batch_recorder([this](const Batch& b) { recorder_->record(b); });
    }
    spdlog::info("vmrefclockd {}: {} every {} s, {} readings; disruptions from {}; feeding {}",
                 VMREFCLOCK_VERSION, pipeline_->source_description(), config_.source.interval_s,
                 config_.source.readings, pipeline_->disruption_signal(), config_.chrony.socket);
    notifier_.status("starting: " + pipeline_->source_description());
    const int64_t interval_ns = seconds_to_ns(config_.source.interval_s);
    armed_interval_ns_ = interval_ns;
    update_watch_timer();
    poll_timer_.arm(1, interval_ns);  // first poll at once
}

// No time source (a guest without a PHC or page, or a module not loaded yet): stay up
// in no-source, tell systemd we are ready, and pick a source up when one appears.
void Daemon::wait_for_source(const std::string& reason) {
    waiting_for_source_ = true;
    source_type_.clear();
    source_path_.clear();
    SourceSet none;
    none.time = std::make_unique<MissingSource>();
    none.disruption_signal = "none";
    pipeline_ = std::make_unique<Pipeline>(config_, std::move(none), make_default_filter(),
                                           sinks_.pointers(), control_);
    const int64_t now = read_clock_ns(CLOCK_MONOTONIC);
    pipeline_->report_no_source(reason + "; looking again every " +
                                    std::to_string(kDiscoveryIntervalNs / 1'000'000'000) +
                                    " s and when a clock device appears",
                                now);
    watch_for_sources();
    // The watchdog is fed by the discovery timer, which runs at least this often.
    int64_t tick = kDiscoveryIntervalNs;
    if (auto w = notifier_.watchdog_interval_ns()) tick = std::min(tick, *w / 4);
    discovery_timer_.arm(tick, tick);
    notifier_.status(std::string(to_string(pipeline_->state())) + ": " + pipeline_->reason());
    if (!ready_sent_) {
        notifier_.ready();
        ready_sent_ = true;
    }
    notifier_.watchdog();
}

void Daemon::watch_for_sources() {
    if (!device_watches_.empty()) return;
    std::vector<std::string> dirs = {config_.source.dev_root};
    if (!config_.source.path.empty()) dirs.push_back(directory_of(config_.source.path));
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    for (const auto& dir : dirs) {
        // Devices appear, then udev sets their group: wait a moment, then look.
        auto watch = DirectoryWatch::create(loop_, dir, [this](const std::string&) {
            if (waiting_for_source_) discovery_soon_.arm(kDeviceSettleNs, 0);
        });
        if (watch) {
            device_watches_.push_back(std::move(*watch));
        } else {
            spdlog::debug("cannot watch {} for clock devices: {}", dir, watch.error().message);
        }
    }
}

void Daemon::look_for_source() {
    if (!waiting_for_source_) return;
    notifier_.watchdog();  // the loop is alive, and nothing else pings while waiting
    auto sources = open_sources(config_);
    if (!sources && notifier_.enabled()) {
        const SourcePlan plan = plan_sources(config_);
        if (device_appeared_after_start(sources.error(), plan.path, devices_at_start_)) {
            spdlog::info(
                "{} appeared after the service started and its device cgroup refuses it "
                "({}): exiting with status {} so that systemd starts the service again with "
                "the device allowed",
                plan.path, sources.error().message, kRestartExitStatus);
            exit_status_ = kRestartExitStatus;
            notifier_.stopping();
            loop_.stop();
            return;
        }
    }
    if (!sources) {
        pipeline_->report_no_source(sources.error().message + "; looking again every " +
                                        std::to_string(kDiscoveryIntervalNs / 1'000'000'000) +
                                        " s and when a clock device appears",
                                    read_clock_ns(CLOCK_MONOTONIC));
        notifier_.status(std::string(to_string(pipeline_->state())) + ": " + pipeline_->reason());
        return;
    }
    spdlog::info("time source found: {} {}", source_kind_name(sources->type), sources->path);
    use_sources(std::move(*sources));
}

// chronyd re-creates its SOCK socket when it restarts: seen here, the next sample goes
// to it at once instead of after the back-off.
void Daemon::watch_chrony_socket() {
    const std::string name = base_name(config_.chrony.socket);
    auto watch = DirectoryWatch::create(loop_, directory_of(config_.chrony.socket),
                                        [this, name](const std::string& changed) {
                                            if (changed.empty() || changed == name) {
                                                on_chrony_directory(changed);
                                            }
                                        });
    if (watch) {
        chrony_watch_ = std::move(*watch);
    } else {
        spdlog::info("not watching {} ({}): a restarted chronyd is found within one poll",
                     directory_of(config_.chrony.socket), watch.error().message);
    }
}

void Daemon::on_chrony_directory(const std::string&) {
    struct stat st {};
    if (stat(config_.chrony.socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
    if (!sinks_.chrony->socket_appeared() || waiting_for_source_) return;
    const int64_t now = read_clock_ns(CLOCK_MONOTONIC);
    if (now - last_early_poll_ns_ < kMinEarlyPollSpacingNs) return;
    last_early_poll_ns_ = now;
    spdlog::debug("chrony socket {} appeared: polling now", config_.chrony.socket);
    poll_timer_.arm(1, armed_interval_ns_);
}

Status Daemon::start_host_notifications(const SourceSet& sources) {
    host_notifications_.reset();  // a previous source's page, if any
    // The page that carries the disruption marker: the source itself, or the one beside
    // a PHC. Its own fd (a second open) is watched, so the pipeline's reads are untouched.
    std::string page;
    if (sources.type == SourceKind::vmclock) page = sources.path;
    if (sources.type != SourceKind::vmclock && sources.signal) page = config_.disruption.vmclock;
    if (page.empty()) return Ok{};
    auto signal = VmclockSignal::open(page, config_.disruption.notify_fifo);
    if (!signal) return signal.error();
    host_notifications_ = std::make_unique<HostNotifications>(
        loop_, std::move(*signal), [this](const HostInfo&) { on_watch(); });
    host_notifications_->start();
    return Ok{};
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
    callbacks.samples = [this](size_t n) { return pipeline_->recent().last(n); };
    callbacks.reset = [this](const std::string& reason) -> Status {
        if (waiting_for_source_) return make_error("there is no time source to reset");
        pipeline_->disrupt({Disruption::Cause::manual, reason.empty() ? "operator reset" : reason},
                           read_clock_ns(CLOCK_MONOTONIC), read_clock_ns(CLOCK_REALTIME));
        return Ok{};
    };
    callbacks.sources = [this] { return sources_report(); };
    auto server = StatusServer::create(loop_, options, std::move(callbacks));
    if (!server) return server.error();
    status_server_ = std::move(*server);
    status_server_->on_lock_lost = [this](const std::string& why) {
        fatal_ = make_error("giving way to another vmrefclockd: " + why);
        notifier_.stopping();
        loop_.stop();
    };
    return Ok{};
}

std::string Daemon::sources_report() const {
    std::string report = list_sources(config_);
    report += "in use: ";
    report += waiting_for_source_ ? std::string("none (the daemon is looking for a source)")
                                  : pipeline_->source_description() + "; disruptions from " +
                                        pipeline_->disruption_signal();
    return report + "\n";
}

StatusSnapshot Daemon::snapshot() const {
    return build_snapshot(
        *pipeline_, {source_type_, source_path_, started_mono_ns_, read_clock_ns(CLOCK_MONOTONIC)});
}

Status Daemon::run() {
    Status ran = loop_.run();
    if (!ran || fatal_) exit_status_ = 1;
    if (!ran) return ran;
    if (fatal_) return *fatal_;
    return Ok{};
}

void Daemon::on_poll() {
    pipeline_->poll(read_poll_clocks());
    // Faster while chrony recovers from a start or disruption (see HoldOff).
    const int64_t interval_ns =
        pipeline_->sampling_interval_ns(seconds_to_ns(config_.source.interval_s));
    if (interval_ns != armed_interval_ns_ && poll_timer_.arm(interval_ns, interval_ns)) {
        armed_interval_ns_ = interval_ns;
    }
    notify_after_poll();
    update_watch_timer();
}

// The page watch between polls runs on its timer unless the page notifies its updates:
// then the notification replaces the timer (until the page stops notifying).
void Daemon::update_watch_timer() {
    const bool notified = host_notifications_ && host_notifications_->active();
    const bool wanted = !notified && seconds_to_ns(config_.source.interval_s) > kWatchIntervalNs;
    if (wanted == watch_armed_) return;
    if (wanted) {
        watch_armed_ = watch_timer_.arm(kWatchIntervalNs, kWatchIntervalNs).ok();
    } else {
        watch_timer_.disarm();
        watch_armed_ = false;
    }
}

void Daemon::on_watch() {
    // Nearly always nothing changed: a few fields of the page say so, and no clock is read.
    if (!pipeline_->can_watch() || !pipeline_->host_signals_changed()) return;
    const PollClocks clocks = read_poll_clocks();
    // On a disruption the sinks see it at once (the bounded-time segment: Disrupted),
    // then a bound of the new clock from the poll (samples stay withheld: the hold-off
    // has begun).
    if (!pipeline_->watch(clocks)) return;
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
        switch (info.ssi_signo) {
            case SIGHUP:
                reload();
                break;
            case SIGUSR1:
                log_status();
                break;
            default:
                spdlog::info("signal {} received, stopping",
                             strsignal(static_cast<int>(info.ssi_signo)));
                notifier_.stopping();
                loop_.stop();
                return;
        }
    }
}

// SIGUSR1: one line with the state, for an operator without access to the socket.
void Daemon::log_status() const {
    const StatusSnapshot s = snapshot();
    std::string line = fmt::format("status: {}: {}", to_string(s.state), s.reason);
    if (s.offset_ns) line += fmt::format("; offset {}", format_offset(*s.offset_ns));
    line += fmt::format(
        "; {} polls, {} samples sent, {} held back; chrony {} ({})", s.polls, s.samples_sent,
        s.samples_rejected, s.chrony.socket,
        s.chrony.connected ? "connected" : s.chrony.last_error.value_or("not connected"));
    spdlog::info("{}", line);
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
        if (!waiting_for_source_ && poll_timer_.arm(interval_ns, interval_ns)) {
            armed_interval_ns_ = interval_ns;
        }
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

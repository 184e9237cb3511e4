#include "daemon/daemon.h"

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
#include "sources/vmclock/vmclock_source.h"

namespace vmrefclock {

namespace {
int64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
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
    bool connected() const override { return sink_.connected(); }
    std::string last_error() const override { return sink_.last_error(); }

  private:
    ChronySockSink& sink_;
};

class Daemon::ControlAdapter : public ChronyResetter {
  public:
    explicit ControlAdapter(ChronyControl& control) : control_(control) {}
    bool enabled() const override { return control_.enabled(); }
    void reset_sources(const std::string& reason) override {
        spdlog::info("running chronyc reset sources ({})", reason);
        control_.reset_sources(reason);
    }

  private:
    ChronyControl& control_;
};

Result<std::unique_ptr<Source>> open_source(const Config& config) {
    if (config.source.type == "vmclock") {
        auto source = VmclockSource::open(config.source.path);
        if (!source) return source.error();
        return std::unique_ptr<Source>(std::move(*source));
    }
    return make_error("source type \"" + config.source.type + "\" is not supported");
}

Daemon::Daemon(Config config, std::string config_path)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      sock_(config_.chrony.socket),
      control_(loop_, config_.chrony.chronyc, config_.chrony.control_socket),
      poll_timer_(loop_, [this] { on_poll(); }) {}

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
        return make_error(std::string("sigprocmask: ") + std::strerror(errno), errno);
    }
    auto source = open_source(config);
    if (!source) return source.error();
    std::unique_ptr<Daemon> daemon(new Daemon(std::move(config), std::move(config_path)));
    daemon->signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (daemon->signal_fd_ < 0) {
        return make_error(std::string("signalfd: ") + std::strerror(errno), errno);
    }
    Status started = daemon->start(std::move(*source));
    if (!started) return started.error();
    return daemon;
}

Status Daemon::start(std::unique_ptr<Source> source) {
    sink_adapter_ = std::make_unique<SockSinkAdapter>(sock_);
    control_adapter_ = std::make_unique<ControlAdapter>(control_);
    control_.on_done = [](bool ok, const std::string& detail) {
        if (ok) {
            spdlog::info("chronyc reset sources: {}", detail);
        } else {
            spdlog::warn("chronyc reset sources failed: {}", detail);
        }
    };
    // The default filter is the first one make_sample_filter knows.
    auto filter = make_sample_filter(sample_filter_names().front());
    if (!filter) return filter.error();
    pipeline_ = std::make_unique<Pipeline>(config_, std::move(source), std::move(*filter),
                                           *sink_adapter_, *control_adapter_);
    Status added = loop_.add(signal_fd_, EPOLLIN, [this](uint32_t) { on_signal(); });
    if (!added) return added;
    const int64_t interval_ns = seconds_to_ns(config_.source.interval_s);
    spdlog::info("vmrefclockd {} started: {} every {} s, {} readings, feeding {}",
                 VMREFCLOCK_VERSION, pipeline_->source_description(), config_.source.interval_s,
                 config_.source.readings, config_.chrony.socket);
    return poll_timer_.arm(1, interval_ns);  // first poll at once
}

Status Daemon::run() {
    return loop_.run();
}

void Daemon::on_poll() {
    pipeline_->poll(clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_REALTIME));
    if (!pipeline_->recent().empty() && spdlog::should_log(spdlog::level::debug)) {
        const SampleRecord& last = pipeline_->recent().back();
        spdlog::debug("sample offset {:+.1f} ns delay {} ns error {} ns{}", last.sample.offset_ns,
                      last.sample.delay_ns, last.sample.error_ns, last.sent ? "" : " (held back)");
    }
}

void Daemon::on_signal() {
    signalfd_siginfo info{};
    while (read(signal_fd_, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGHUP) {
            reload();
        } else {
            spdlog::info("signal {} received, stopping",
                         strsignal(static_cast<int>(info.ssi_signo)));
            loop_.stop();
        }
    }
}

void Daemon::reload() {
    auto fresh = load_config(config_path_);
    if (!fresh) {
        spdlog::error("reload: keeping the running configuration: {}", fresh.error().message);
        return;
    }
    // Log level and poll timing apply at once; the rest needs a restart.
    if (Status level = set_log_level(fresh->log.level); !level) {
        spdlog::error("reload: {}", level.error().message);
    }
    if (fresh->source.interval_s != config_.source.interval_s) {
        config_.source.interval_s = fresh->source.interval_s;
        const int64_t interval_ns = seconds_to_ns(config_.source.interval_s);
        poll_timer_.arm(interval_ns, interval_ns);
    }
    config_.log = fresh->log;
    spdlog::info(
        "reload: configuration re-read from {} (source and chrony settings apply at "
        "the next restart)",
        config_path_);
}

}  // namespace vmrefclock

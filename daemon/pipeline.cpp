#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>

namespace vmrefclock {

namespace {
constexpr size_t kRecentSamples = 256;
}  // namespace

Pipeline::Pipeline(const Config& config, SourceSet sources, std::unique_ptr<SampleFilter> filter,
                   SampleSink& sink, ChronyResetter& chrony)
    : config_(config),
      source_(std::move(sources.time)),
      signal_(std::move(sources.signal)),
      disruption_signal_(std::move(sources.disruption_signal)),
      filter_(std::move(filter)),
      sink_(sink),
      chrony_(chrony),
      holdoff_(HoldOff::interval_for_poll(config.chrony.poll)) {
    if (sources.data_detectors) detector_.emplace(detector_options(config.disruption));
}

void Pipeline::set_state(DaemonState state, std::string_view cause, std::string reason,
                         int64_t now_mono_ns) {
    const DaemonState before = state_;
    const bool changed = state != state_ || reason != reason_;
    state_ = state;
    reason_ = std::move(reason);
    // Entering hold-off is logged by disrupt(), with the disruption.
    if (!changed || state_ == DaemonState::holdoff) return;
    if (state_ == DaemonState::ok) {
        // The way back is logged when the way out was: a warning and its recovery come
        // in pairs, and a flapping feed costs no more lines than its warnings.
        if (before == DaemonState::starting || problem_logged_) {
            spdlog::info("state {}: {}", to_string(state_), reason_);
        }
        problem_logged_ = false;
        return;
    }
    // One line a minute per state and cause, however the text varies or the state flaps.
    uint64_t suppressed = 0;
    const std::string key = std::string(to_string(state_)) + "/" + std::string(cause);
    problem_logged_ = log_limiter_.allow(key, now_mono_ns, suppressed);
    if (!problem_logged_) return;
    spdlog::warn(
        "state {}: {}{}", to_string(state_), reason_,
        suppressed ? fmt::format(" ({} more like it since the last report)", suppressed) : "");
}

void Pipeline::remember(const Sample& sample, bool sent) {
    recent_.push_back({sample.time_ns, sample.offset_ns, sample.delay_ns, sample.error_ns, sent});
    // Here, where a record is made: a poll that made none logs no (stale) sample.
    spdlog::debug("sample offset {:+.1f} ns delay {} ns error {} ns{}", sample.offset_ns,
                  sample.delay_ns, sample.error_ns, sent ? "" : " (held back)");
    if (recent_.size() > kRecentSamples) recent_.pop_front();
}

void Pipeline::disrupt(Disruption disruption, int64_t now_mono_ns, int64_t now_real_ns) {
    ++disruptions_.count;
    disruptions_.last_time_ns = now_real_ns;
    disruptions_.last_cause = to_string(disruption.cause);
    spdlog::warn("disruption ({}): {}; discarding calibration, holding off for {} s",
                 to_string(disruption.cause), disruption.detail,
                 static_cast<double>(holdoff_.holdoff_ns()) / 1e9);
    // Every sample taken before this point belongs to the old clock.
    filter_->reset();
    HoldOff::Actions actions = holdoff_.start(now_mono_ns);
    if (actions.reset_chrony && chrony_.enabled()) {
        chrony_.reset_sources(std::string("disruption: ") + to_string(disruption.cause));
    }
    set_state(DaemonState::holdoff, "disruption",
              std::string("disruption (") + to_string(disruption.cause) + "): " + disruption.detail,
              now_mono_ns);
}

void Pipeline::attach_signal(Batch& batch, int64_t now_mono_ns) {
    if (!signal_ || batch.host) return;
    Result<HostInfo> host = signal_->read_host();
    if (host) {
        batch.host = *host;
        return;
    }
    uint64_t suppressed = 0;
    if (log_limiter_.allow("signal", now_mono_ns, suppressed)) {
        spdlog::warn("cannot read the disruption signal {}: {}", signal_->describe(),
                     host.error().message);
    }
}

bool Pipeline::check_host(const HostInfo& host, const PollClocks& clocks) {
    if (host_ && host_->maintenance != host.maintenance && host.maintenance != Maintenance::none) {
        spdlog::warn("host announces maintenance {}: a disruption is expected",
                     host.maintenance == Maintenance::imminent ? "within about an hour"
                                                               : "within about a day");
    }
    host_ = host;
    if (auto disruption = monitor_.observe(host)) {
        disrupt(*disruption, clocks.mono_ns, clocks.real_ns);
        // The marker explains whatever the data showed; start the detectors afresh.
        if (detector_) detector_->reset();
    }
    if (host.clock_status == ClockStatus::unreliable) {
        set_state(DaemonState::unusable, "host-status", "host says its clock is unreliable",
                  clocks.mono_ns);
        return false;
    }
    return true;
}

void Pipeline::poll(const PollClocks& clocks) {
    const int64_t now_mono_ns = clocks.mono_ns;
    ++polls_;
    last_poll_completed_ = false;
    if (holdoff_.active()) {
        HoldOff::Actions actions = holdoff_.tick(now_mono_ns);
        if (actions.reset_chrony && chrony_.enabled()) {
            chrony_.reset_sources("end of hold-off after a disruption");
        }
        if (actions.resumed) spdlog::info("hold-off over, feeding chrony again");
    }
    if (detector_) {
        if (auto d = detector_->observe_clocks(clocks.mono_ns, clocks.boottime_ns,
                                               clocks.mono_after_ns)) {
            disrupt(*d, now_mono_ns, clocks.real_ns);
        }
    }

    Result<Batch> batch = source_->poll(config_.source.readings);
    if (!batch) {
        set_state(DaemonState::no_source, "source",
                  "cannot read " + source_->describe() + ": " + batch.error().message, now_mono_ns);
        return;
    }
    last_poll_completed_ = true;
    attach_signal(*batch, now_mono_ns);
    if (batch_recorder_) batch_recorder_(*batch);
    if (batch->host && !check_host(*batch->host, clocks)) return;
    if (!batch->unusable_reason.empty()) {
        set_state(DaemonState::unusable, "page", batch->unusable_reason, now_mono_ns);
        return;
    }

    const std::optional<Estimate> before = filter_->estimate();
    // Samples taken during hold-off are already of the new clock: the filter learns
    // from them, chrony does not see them until its own reset has taken effect.
    Result<Sample> sample = filter_->process(*batch);
    if (!sample) {
        ++samples_rejected_;
        set_state(DaemonState::degraded, "filter", sample.error().message, now_mono_ns);
        return;
    }
    if (batch->host) sample->leap = batch->host->leap;
    if (detector_) {
        DataDisruptionDetector::SampleVerdict verdict;
        if (auto step_ns = filter_->confirmed_step_ns()) {
            // A filter that confirms steps itself rejected the step's first sample and
            // has restarted its model, so the step detector never saw the step and the
            // estimate is a new one: the detectors judge the filter's verdict instead.
            verdict.disruption = detector_->observe_confirmed_step(*step_ns);
        } else {
            verdict = detector_->observe_sample(*sample, before);
            if (!verdict.disruption) {
                if (auto after = filter_->estimate()) {
                    verdict.disruption = detector_->observe_estimate(*after);
                }
            }
        }
        if (verdict.disruption) {
            disrupt(*verdict.disruption, now_mono_ns, clocks.real_ns);
            return;
        }
        if (!verdict.trustworthy) {
            // Far off the model: a step or a spike; the next poll tells which.
            ++samples_rejected_;
            remember(*sample, false);
            return;
        }
    }
    if (!holdoff_.feeding(now_mono_ns)) {
        remember(*sample, false);
        return;
    }

    Status sent = sink_.send(*sample, now_mono_ns);
    remember(*sample, sent.ok());
    if (!sent) {
        set_state(DaemonState::degraded, "chrony", "chrony: " + sent.error().message, now_mono_ns);
        return;
    }
    ++samples_sent_;
    last_sent_mono_ns_ = now_mono_ns;
    set_state(DaemonState::ok, "feeding", "feeding chrony from " + source_->describe(),
              now_mono_ns);
}

}  // namespace vmrefclock

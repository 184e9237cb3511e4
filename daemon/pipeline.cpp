#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>

namespace vmrefclock {

namespace {
constexpr size_t kRecentSamples = 256;
}  // namespace

const char* to_string(PipelineState state) {
    switch (state) {
        case PipelineState::starting:
            return "starting";
        case PipelineState::ok:
            return "ok";
        case PipelineState::holdoff:
            return "holdoff";
        case PipelineState::degraded:
            return "degraded";
        case PipelineState::unusable:
            return "unusable";
        case PipelineState::no_source:
            return "no-source";
    }
    return "unknown";
}

Pipeline::Pipeline(const Config& config, std::unique_ptr<Source> source,
                   std::unique_ptr<SampleFilter> filter, SampleSink& sink, ChronyResetter& chrony)
    : config_(config),
      source_(std::move(source)),
      filter_(std::move(filter)),
      sink_(sink),
      chrony_(chrony),
      holdoff_(HoldOff::interval_for_poll(config.chrony.poll)) {}

void Pipeline::set_state(PipelineState state, std::string reason, int64_t now_mono_ns) {
    const bool changed = state != state_ || reason != reason_;
    state_ = state;
    reason_ = std::move(reason);
    if (!changed) return;
    if (state_ == PipelineState::ok || state_ == PipelineState::holdoff) {
        spdlog::info("state {}: {}", to_string(state_), reason_);
        return;
    }
    uint64_t suppressed = 0;
    if (log_limiter_.allow(reason_, now_mono_ns, suppressed)) {
        spdlog::warn("state {}: {}{}", to_string(state_), reason_,
                     suppressed ? fmt::format(" ({} more since last report)", suppressed) : "");
    }
}

void Pipeline::remember(const Sample& sample, bool sent) {
    recent_.push_back({sample, sent});
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
    set_state(PipelineState::holdoff,
              std::string("disruption (") + to_string(disruption.cause) + "): " + disruption.detail,
              now_mono_ns);
}

void Pipeline::poll(int64_t now_mono_ns, int64_t now_real_ns) {
    ++polls_;
    last_poll_completed_ = false;
    if (holdoff_.active()) {
        HoldOff::Actions actions = holdoff_.tick(now_mono_ns);
        if (actions.reset_chrony && chrony_.enabled()) {
            chrony_.reset_sources("end of hold-off after a disruption");
        }
        if (actions.resumed) spdlog::info("hold-off over, feeding chrony again");
    }

    Result<Batch> batch = source_->poll(config_.source.readings);
    if (!batch) {
        set_state(PipelineState::no_source,
                  "cannot read " + source_->describe() + ": " + batch.error().message, now_mono_ns);
        return;
    }
    last_poll_completed_ = true;
    if (batch->host) {
        host_ = batch->host;
        if (auto disruption = monitor_.observe(*batch->host)) {
            disrupt(*disruption, now_mono_ns, now_real_ns);
        }
        if (batch->host->clock_status == ClockStatus::unreliable) {
            set_state(PipelineState::unusable, "host says its clock is unreliable", now_mono_ns);
            return;
        }
    }
    if (!batch->unusable_reason.empty()) {
        set_state(PipelineState::unusable, batch->unusable_reason, now_mono_ns);
        return;
    }

    // Samples taken during hold-off are already of the new clock: the filter learns
    // from them, chrony does not see them until its own reset has taken effect.
    Result<Sample> sample = filter_->process(*batch);
    if (!sample) {
        ++samples_rejected_;
        set_state(PipelineState::degraded, sample.error().message, now_mono_ns);
        return;
    }
    if (batch->host) sample->leap = batch->host->leap;
    if (!holdoff_.feeding(now_mono_ns)) {
        remember(*sample, false);
        return;
    }

    Status sent = sink_.send(*sample, now_mono_ns);
    remember(*sample, sent.ok());
    if (!sent) {
        set_state(PipelineState::degraded, "chrony: " + sent.error().message, now_mono_ns);
        return;
    }
    ++samples_sent_;
    last_sent_mono_ns_ = now_mono_ns;
    log_limiter_.clear(reason_);
    set_state(PipelineState::ok, "feeding chrony from " + source_->describe(), now_mono_ns);
}

}  // namespace vmrefclock

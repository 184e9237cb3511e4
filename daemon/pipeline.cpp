#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>

namespace vmrefclock {

namespace {
constexpr size_t kRecentSamples = 256;
// How long a disruption waits for chronyd to read the old clock's last datagrams.
constexpr int64_t kOldSamplesReadNs = 100'000'000;
}  // namespace

Pipeline::Pipeline(const Config& config, SourceSet sources, std::unique_ptr<SampleFilter> filter,
                   SampleSink& sink, ChronyResetter& chrony)
    : config_(config),
      source_(std::move(sources.time)),
      signal_(std::move(sources.signal)),
      disruption_signal_(std::move(sources.disruption_signal)),
      step_guard_(step_guard_options(config.disruption)),
      filter_(std::move(filter)),
      sink_(sink),
      chrony_(chrony),
      holdoff_(HoldOff::interval_for_poll(config.chrony.poll)) {
    // Beside every source, a page included: a step that no marker announces (a KVM
    // master-clock update, a host NTP step, a page that lies) is a disruption too.
    detector_.emplace(detector_options(config.disruption));
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
    // A marker change, a suspend or an operator explains the change: no probation.
    if (disruption.cause != Disruption::Cause::step) step_guard_.clear();
    last_trusted_.reset();
    ++disruptions_.count;
    disruptions_.last_time_ns = now_real_ns;
    disruptions_.last_cause = to_string(disruption.cause);
    spdlog::warn(
        "disruption ({}): {}; discarding calibration, resetting chrony; the new clock's first "
        "sample follows as a burst",
        to_string(disruption.cause), disruption.detail);
    // Every sample taken before this point belongs to the old clock.
    filter_->reset();
    held_.reset();
    HoldOff::Actions actions = holdoff_.start(now_mono_ns);
    if (actions.reset_chrony && chrony_.enabled()) {
        // A datagram of the old clock still queued would reach chrony after its reset.
        if (!sink_.wait_read(kOldSamplesReadNs)) {
            spdlog::warn("chronyd has not read the last samples of the old clock in {} ms",
                         kOldSamplesReadNs / 1'000'000);
        }
        chrony_.reset_sources(std::string("disruption: ") + to_string(disruption.cause));
    } else {
        holdoff_.reset_done();  // nothing to wait for
    }
    set_state(DaemonState::holdoff, "disruption",
              std::string("disruption (") + to_string(disruption.cause) + "): " + disruption.detail,
              now_mono_ns);
}

void Pipeline::disrupt_from_data(const Disruption& disruption, const Batch& batch,
                                 const PollClocks& clocks) {
    const std::optional<Estimate> reference = last_trusted_;
    disrupt(disruption, clocks.mono_ns, clocks.real_ns);
    if (disruption.cause != Disruption::Cause::step) return;
    const std::optional<BatchOffset> now = batch_offset(batch);
    if (!now) return;
    step_guard_.start(reference, *now, clocks.mono_ns);
    spdlog::warn(
        "no disruption marker announced the step: the new clock is on probation for "
        "{} s (followed if it holds, dropped if it returns)",
        static_cast<double>(step_guard_.options().probation_ns) / 1e9);
}

bool Pipeline::admit(const Batch& batch, const PollClocks& clocks) {
    if (std::optional<Implausible> implausible =
            gates_.check(batch, clocks.real_ns, clocks.raw_ns)) {
        set_state(DaemonState::unusable, "implausible/" + implausible->gate, implausible->reason(),
                  clocks.mono_ns);
        return false;
    }
    if (!step_guard_.active()) return true;
    const std::optional<BatchOffset> now = batch_offset(batch);
    if (!now) return true;  // the filter says what is wrong with the batch
    const double step_s = step_guard_.step_ns() / 1e9;
    const StepGuard::Observation seen = step_guard_.observe(*now, clocks.mono_ns);
    switch (seen.verdict) {
        case StepGuard::Verdict::reverted:
            spdlog::warn(
                "the host's clock is back where it was before the unannounced step of "
                "{:+.6f} s: a transient, of which chrony saw nothing; feeding resumes",
                step_s);
            filter_->reset();
            if (detector_) detector_->reset();
            return true;
        case StepGuard::Verdict::accepted:
            spdlog::warn("the unannounced step has held for {} s: following the host's new clock",
                         static_cast<double>(step_guard_.options().probation_ns) / 1e9);
            return true;
        case StepGuard::Verdict::moved:
            if (uint64_t suppressed = 0;
                log_limiter_.allow("step-moved", clocks.mono_ns, suppressed)) {
                spdlog::warn(
                    "the host's clock moved again ({:+.6f} s) during the probation of an "
                    "unannounced step: the probation starts over",
                    seen.residual_ns / 1e9);
            }
            break;
        case StepGuard::Verdict::hold:
        case StepGuard::Verdict::idle:
            break;
    }
    set_state(DaemonState::holdoff, "probation",
              fmt::format("the host's clock stepped by {:+.6f} s with no disruption marker: not "
                          "followed until it holds for {} s, returns, or the marker changes",
                          step_s, static_cast<double>(step_guard_.options().probation_ns) / 1e9),
              clocks.mono_ns);
    return false;
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
    holdoff_.tick(now_mono_ns);
    if (detector_) {
        if (auto d = detector_->observe_clocks(clocks.mono_ns, clocks.boottime_ns,
                                               clocks.mono_after_ns)) {
            disrupt(*d, now_mono_ns, clocks.real_ns);
        }
    }
    if (auto step = guest_steps_.observe(clocks.mono_ns, clocks.real_ns, clocks.mono_after_ns)) {
        // The guest's own clock was stepped (chrony's makestep, an operator): every offset
        // moved by the opposite amount, the host's clock did not. No disruption; the
        // filter's window is of the old timescale and starts afresh.
        spdlog::info(
            "the system clock was stepped by {:+.6f} s: restarting the filter "
            "(the host's clock is not disrupted)",
            static_cast<double>(*step) / 1e9);
        filter_->reset();
        if (detector_) detector_->reset();
        step_guard_.shift(-static_cast<double>(*step));
        last_trusted_.reset();
    }

    Result<Batch> batch = source_->poll(config_.source.readings);
    if (!batch) {
        set_state(DaemonState::no_source, "source",
                  "cannot read " + source_->describe() + ": " + batch.error().message, now_mono_ns);
        return;
    }
    last_poll_completed_ = true;
    if (batch->host) host_from_source_ = true;
    attach_signal(*batch, now_mono_ns);
    if (batch_recorder_) batch_recorder_(*batch);
    if (batch->host && !check_host(*batch->host, clocks)) return;
    if (!batch->unusable_reason.empty()) {
        set_state(DaemonState::unusable, "page", batch->unusable_reason, now_mono_ns);
        return;
    }
    if (!admit(*batch, clocks)) return;

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
            disrupt_from_data(*verdict.disruption, *batch, clocks);
            return;
        }
        if (!verdict.trustworthy) {
            // Far off the model: a step or a spike; the next poll tells which.
            ++samples_rejected_;
            remember(*sample, false);
            return;
        }
    }
    last_trusted_ = filter_->estimate();
    if (holdoff_.holding()) {
        // chrony's reset is still running and would drop it: kept for the burst.
        held_ = *sample;
        remember(*sample, false);
        return;
    }
    if (holdoff_.wants_burst()) {
        send_burst(*sample, now_mono_ns);
        return;
    }
    if (!holdoff_.feeding()) {
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
    feeding_state(now_mono_ns);
}

bool Pipeline::watch(const PollClocks& clocks) {
    std::optional<HostInfo> host;
    if (signal_) {
        if (Result<HostInfo> h = signal_->read_host()) host = *h;
    } else if (host_from_source_) {
        // The page is the source: one reading brings its host info.
        if (Result<Batch> b = source_->poll(1); b && b->host) host = *b->host;
    }
    if (!host) return false;  // the next poll reports the failure
    const uint64_t before = disruptions_.count;
    check_host(*host, clocks);
    return disruptions_.count != before;
}

void Pipeline::chrony_reset_done(bool ok, int64_t now_mono_ns) {
    if (!holdoff_.holding()) return;
    if (!ok)
        spdlog::warn("chrony was not reset: it may mix the old clock with the new for a while");
    holdoff_.reset_done();
    std::optional<Sample> held = std::move(held_);
    held_.reset();
    if (held) send_burst(*held, now_mono_ns);
}

void Pipeline::send_burst(const Sample& sample, int64_t now_mono_ns) {
    Status sent = Ok{};
    for (int k = 0; k < HoldOff::kBurstSamples && sent; ++k) {
        sent = sink_.send(HoldOff::burst_copy(sample, k, HoldOff::kBurstSamples), now_mono_ns);
    }
    HoldOff::Actions actions = holdoff_.burst_sent(now_mono_ns, sent.ok());
    if (actions.resumed) {
        spdlog::info("{}feeding chrony, starting with a burst of the {}first sample",
                     disruptions_.count > 0 ? "hold-off over: " : "",
                     disruptions_.count > 0 ? "new clock's " : "");
    }
    remember(sample, sent.ok());
    if (!sent) {
        set_state(DaemonState::degraded, "chrony", "chrony: " + sent.error().message, now_mono_ns);
        return;
    }
    ++samples_sent_;
    last_sent_mono_ns_ = now_mono_ns;
    feeding_state(now_mono_ns);
}

void Pipeline::feeding_state(int64_t now_mono_ns) {
    if (holdoff_.active() && disruptions_.count > 0) {
        set_state(DaemonState::holdoff, "recovering",
                  "feeding the new clock; chrony is selecting it again", now_mono_ns);
        return;
    }
    set_state(DaemonState::ok, "feeding", "feeding chrony from " + source_->describe(),
              now_mono_ns);
}

}  // namespace vmrefclock

#include "filter/engine.h"

#include <utility>

namespace vmrefclock {

Engine::Engine(EngineOptions options, std::unique_ptr<SampleFilter> filter)
    : options_(std::move(options)),
      filter_(std::move(filter)),
      detector_(options_.detectors),
      gates_(options_.gates),
      step_guard_(options_.step_guard),
      holdoff_(options_.chrony_poll_ns) {
    state_.detail.reserve(64);
}

Engine::Outcome& Engine::begin() {
    outcome_.sample.reset();
    outcome_.copies = 0;
    outcome_.reset_chrony = false;
    outcome_.disrupted = false;
    outcome_.event_count = 0;
    return outcome_;
}

EngineEvent* Engine::event(EngineEvent::Kind kind, double value_ns) {
    // More than kMaxEvents in one call cannot happen (each kind at most once or twice);
    // were it to, the oldest are kept.
    if (outcome_.event_count == kMaxEvents) return nullptr;
    EngineEvent& e = outcome_.events[outcome_.event_count++];
    e.kind = kind;
    e.value_ns = value_ns;
    e.after_disruption = false;
    e.maintenance = Maintenance::none;
    return &e;
}

void Engine::set_state(DaemonState state, StateCause cause, std::string_view detail) {
    state_.state = state;
    state_.cause = cause;
    state_.detail.assign(detail);
    state_.gate.clear();
    state_.disruption = Disruption::Cause::manual;
    state_.step_ns = 0;
}

void Engine::report_no_source(std::string_view reason) {
    set_state(DaemonState::no_source, StateCause::no_source, reason);
}

void Engine::start_poll(const PollClocks& clocks) {
    begin();
    ++polls_;
    last_poll_completed_ = false;
    holdoff_.tick(clocks.mono_ns);
    poll_sample_.reset();
    if (auto d =
            detector_.observe_clocks(clocks.mono_ns, clocks.boottime_ns, clocks.mono_after_ns)) {
        start_disruption(std::move(*d), clocks.real_ns);
    }
    if (auto step = guest_steps_.observe(clocks.mono_ns, clocks.real_ns, clocks.mono_after_ns)) {
        // The guest's own clock was stepped (chrony's makestep, an operator): every offset
        // moved by the opposite amount, the host's clock did not. No disruption; the
        // filter's window is of the old timescale and starts afresh.
        event(EngineEvent::Kind::guest_clock_stepped, static_cast<double>(*step));
        filter_->reset();
        detector_.reset();
        step_guard_.shift(-static_cast<double>(*step));
        last_trusted_.reset();
    }
}

void Engine::start_disruption(Disruption disruption, int64_t now_real_ns) {
    // A marker change, a suspend or an operator explains the change: no probation.
    if (disruption.cause != Disruption::Cause::step) step_guard_.clear();
    last_trusted_.reset();
    ++disruptions_.count;
    disruptions_.last_time_ns = now_real_ns;
    disruptions_.last_cause = disruption.cause;
    // Every sample taken before this point belongs to the old clock.
    filter_->reset();
    slew_.reset();
    held_.reset();
    const HoldOff::Actions actions = holdoff_.start(0);
    if (actions.reset_chrony && options_.chrony_reset) {
        outcome_.reset_chrony = true;
    } else {
        holdoff_.reset_done();  // nothing to wait for
    }
    outcome_.disrupted = true;
    set_state(DaemonState::holdoff, StateCause::disruption, disruption.detail);
    state_.disruption = disruption.cause;
    if (EngineEvent* e = event(EngineEvent::Kind::disruption)) {
        e->disruption = std::move(disruption);
    }
}

const Engine::Outcome& Engine::disrupt(Disruption disruption, int64_t, int64_t now_real_ns) {
    begin();
    start_disruption(std::move(disruption), now_real_ns);
    return outcome_;
}

bool Engine::check_host(const HostInfo& host, const PollClocks& clocks) {
    if (host_ && host_->maintenance != host.maintenance && host.maintenance != Maintenance::none) {
        if (EngineEvent* e = event(EngineEvent::Kind::maintenance_announced)) {
            e->maintenance = host.maintenance;
        }
    }
    host_ = host;
    if (auto disruption = monitor_.observe(host)) {
        start_disruption(std::move(*disruption), clocks.real_ns);
        // The marker explains whatever the data showed; start the detectors afresh.
        detector_.reset();
    }
    if (host.clock_status == ClockStatus::unreliable) {
        set_state(DaemonState::unusable, StateCause::host_unreliable);
        return false;
    }
    return true;
}

const Engine::Outcome& Engine::observe_host(const HostInfo& host, const PollClocks& clocks) {
    begin();
    check_host(host, clocks);
    return outcome_;
}

bool Engine::admit(const Batch& batch, const PollClocks& clocks) {
    if (std::optional<Implausible> implausible =
            gates_.check(batch, clocks.real_ns, clocks.raw_ns)) {
        set_state(DaemonState::unusable, StateCause::implausible, implausible->reason());
        state_.gate = implausible->gate;
        return false;
    }
    if (!step_guard_.active()) return true;
    const std::optional<BatchOffset> now = batch_offset(batch, scratch_);
    if (!now) return true;  // the filter says what is wrong with the batch
    const double step_ns = step_guard_.step_ns();
    const double probation_ns = static_cast<double>(step_guard_.options().probation_ns);
    const StepGuard::Observation seen = step_guard_.observe(*now, clocks.mono_ns);
    switch (seen.verdict) {
        case StepGuard::Verdict::reverted:
            // A transient, of which chrony saw nothing: feeding resumes.
            event(EngineEvent::Kind::step_reverted, step_ns);
            filter_->reset();
            detector_.reset();
            return true;
        case StepGuard::Verdict::accepted:
            event(EngineEvent::Kind::step_accepted, probation_ns);
            return true;
        case StepGuard::Verdict::moved:
            event(EngineEvent::Kind::step_moved, seen.residual_ns);
            break;
        case StepGuard::Verdict::hold:
        case StepGuard::Verdict::idle:
            break;
    }
    set_state(DaemonState::holdoff, StateCause::probation);
    state_.step_ns = step_ns;
    return false;
}

const Engine::Outcome& Engine::poll_failed(const PollClocks& clocks, std::string_view error) {
    start_poll(clocks);
    set_state(DaemonState::no_source, StateCause::source_unreadable, error);
    return outcome_;
}

const Engine::Outcome& Engine::poll(const PollClocks& clocks, const Batch& batch) {
    start_poll(clocks);
    last_poll_completed_ = true;
    if (batch.host && !check_host(*batch.host, clocks)) return outcome_;
    if (!batch.unusable_reason.empty()) {
        set_state(DaemonState::unusable, StateCause::page_unusable, batch.unusable_reason);
        return outcome_;
    }
    if (!admit(batch, clocks)) return outcome_;
    if (const std::optional<BatchOffset> offset = batch_offset(batch, scratch_)) {
        slew_.observe(clocks.raw_ns, clocks.real_ns, offset->offset_ns);
    }
    const std::optional<Estimate> before = filter_->estimate();
    // Samples taken during hold-off are already of the new clock: the filter learns
    // from them, chrony does not see them until its own reset has taken effect.
    Result<Sample> sample = filter_->process(batch);
    if (!sample) {
        ++samples_rejected_;
        set_state(DaemonState::degraded, StateCause::filter_rejected, sample.error().message);
        return outcome_;
    }
    if (batch.host) sample->leap = batch.host->leap;
    judge(batch, clocks, *sample, before);
    return outcome_;
}

void Engine::judge(const Batch& batch, const PollClocks& clocks, Sample& sample,
                   const std::optional<Estimate>& before) {
    DataDisruptionDetector::SampleVerdict verdict;
    const std::optional<double> confirmed_ns = filter_->confirmed_step_ns();
    if (confirmed_ns) {
        // A filter that confirms steps itself rejected the step's first sample and has
        // restarted its model, so the step detector never saw the step and the estimate
        // is a new one: the detectors judge the filter's verdict instead.
        verdict.disruption = detector_.observe_confirmed_step(*confirmed_ns);
    } else {
        verdict = detector_.observe_sample(sample, before);
        if (!verdict.disruption) {
            if (auto after = filter_->estimate()) {
                verdict.disruption = detector_.observe_estimate(*after);
            }
        }
    }
    if (verdict.disruption && verdict.disruption->cause == Disruption::Cause::step &&
        confirmed_ns && slew_.explains(*confirmed_ns)) {
        // Seen in a guest disciplined by chrony right after a loadvm: a 0.6-ms slew
        // within one poll. The host's clock did not move; the filter's window is of the
        // old timescale and starts afresh, as after a step of the guest's clock.
        event(EngineEvent::Kind::system_clock_slewed, *confirmed_ns);
        filter_->reset();
        detector_.reset();
        last_trusted_.reset();
        ++samples_rejected_;
        return;
    }
    if (verdict.disruption) {
        const std::optional<Estimate> reference = last_trusted_;
        const bool step = verdict.disruption->cause == Disruption::Cause::step;
        start_disruption(std::move(*verdict.disruption), clocks.real_ns);
        if (!step) return;
        const std::optional<BatchOffset> now = batch_offset(batch, scratch_);
        if (!now) return;
        step_guard_.start(reference, *now, clocks.mono_ns);
        event(EngineEvent::Kind::probation_started,
              static_cast<double>(step_guard_.options().probation_ns));
        return;
    }
    if (!verdict.trustworthy) {
        // Far off the model: a step or a spike; the next poll tells which.
        ++samples_rejected_;
        outcome_.sample = sample;  // recorded as not sent
        return;
    }
    last_trusted_ = filter_->estimate();
    poll_sample_ = sample;
    send_or_hold(sample);
}

void Engine::send_or_hold(const Sample& sample) {
    outcome_.sample = sample;
    if (holdoff_.holding()) {
        // chrony's reset is still running and would drop it: kept for the burst.
        held_ = sample;
        return;
    }
    if (holdoff_.wants_burst()) {
        outcome_.copies = HoldOff::kBurstSamples;
        return;
    }
    if (holdoff_.feeding()) outcome_.copies = 1;
}

const Engine::Outcome& Engine::chrony_reset_done(bool ok) {
    begin();
    if (!holdoff_.holding()) return outcome_;
    if (!ok) event(EngineEvent::Kind::chrony_not_reset);
    holdoff_.reset_done();
    std::optional<Sample> held = std::exchange(held_, std::nullopt);
    if (held) {
        outcome_.sample = *held;
        outcome_.copies = HoldOff::kBurstSamples;
    }
    return outcome_;
}

const Engine::Outcome& Engine::delivered(bool ok, std::string_view error, int64_t now_mono_ns) {
    outcome_.event_count = 0;  // the call's own were for the caller before delivering
    if (outcome_.copies > 1) {
        const HoldOff::Actions actions = holdoff_.burst_sent(now_mono_ns, ok);
        if (actions.resumed) {
            if (EngineEvent* e = event(EngineEvent::Kind::feeding_resumed)) {
                e->after_disruption = disruptions_.count > 0;
            }
        }
    }
    if (!ok) {
        set_state(DaemonState::degraded, StateCause::delivery_failed, error);
        return outcome_;
    }
    ++samples_sent_;
    last_sent_mono_ns_ = now_mono_ns;
    feeding_state();
    return outcome_;
}

void Engine::feeding_state() {
    if (holdoff_.active() && disruptions_.count > 0) {
        set_state(DaemonState::holdoff, StateCause::recovering);
        return;
    }
    set_state(DaemonState::ok, StateCause::feeding);
}

}  // namespace vmrefclock

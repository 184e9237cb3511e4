#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace vmrefclock {

namespace {
constexpr size_t kRecentSamples = 256;

double seconds(double ns) {
    return ns / 1e9;
}
}  // namespace

void RecentSamples::push(const SampleRecord& record) {
    if (ring_.empty()) return;
    if (size_ < ring_.size()) {
        ring_[(start_ + size_++) % ring_.size()] = record;
        return;
    }
    ring_[start_] = record;
    start_ = (start_ + 1) % ring_.size();
}

std::vector<SampleRecord> RecentSamples::last(size_t n) const {
    n = std::min(n, size_);
    std::vector<SampleRecord> out;
    out.reserve(n);
    for (size_t i = size_ - n; i < size_; ++i) out.push_back(at(i));
    return out;
}

EngineOptions engine_options(const Config& config, bool chrony_reset) {
    EngineOptions options;
    // Beside every source, a page included: a step that no marker announces (a KVM
    // master-clock update, a host NTP step, a page that lies) is a disruption too.
    options.detectors = detector_options(config.disruption);
    options.step_guard = step_guard_options(config.disruption);
    options.chrony_poll_ns = HoldOff::interval_for_poll(config.chrony.poll);
    options.chrony_reset = chrony_reset;
    return options;
}

Pipeline::Pipeline(const Config& config, SourceSet sources, std::unique_ptr<SampleFilter> filter,
                   std::vector<Sink*> sinks, ChronyResetter& chrony)
    : config_(config),
      source_(std::move(sources.time)),
      signal_(std::move(sources.signal)),
      disruption_signal_(std::move(sources.disruption_signal)),
      sinks_(std::move(sinks)),
      chrony_(chrony),
      engine_(engine_options(config, chrony.enabled()), std::move(filter)),
      recent_(kRecentSamples) {
    std::stable_partition(sinks_.begin(), sinks_.end(),
                          [](const Sink* s) { return s->feeds_clock(); });
}

void Pipeline::set_state(DaemonState state, std::string_view cause, std::string reason,
                         int64_t now_mono_ns) {
    const DaemonState before = state_;
    const bool changed = state != state_ || reason != reason_;
    state_ = state;
    reason_ = std::move(reason);
    // Entering hold-off is logged with the disruption (or the probation) itself.
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

// The words for the engine's state; made only when that state changed.
void Pipeline::apply_state(int64_t now_mono_ns) {
    const EngineState& s = engine_.state();
    if (s == applied_) return;
    applied_ = s;
    switch (s.cause) {
        case StateCause::starting:
            return set_state(s.state, "starting", "no sample sent yet", now_mono_ns);
        case StateCause::no_source:
            return set_state(s.state, "discovery", s.detail, now_mono_ns);
        case StateCause::source_unreadable:
            return set_state(s.state, "source",
                             "cannot read " + source_->describe() + ": " + s.detail, now_mono_ns);
        case StateCause::host_unreliable:
            return set_state(s.state, "host-status", "host says its clock is unreliable",
                             now_mono_ns);
        case StateCause::page_unusable:
            return set_state(s.state, "page", s.detail, now_mono_ns);
        case StateCause::implausible:
            return set_state(s.state, "implausible/" + s.gate, s.detail, now_mono_ns);
        case StateCause::probation:
            return set_state(
                s.state, "probation",
                fmt::format(
                    "the host's clock stepped by {:+.6f} s with no disruption marker: "
                    "not followed until it holds for {} s, returns, or the marker "
                    "changes",
                    seconds(s.step_ns),
                    seconds(static_cast<double>(engine_.step_guard_options().probation_ns))),
                now_mono_ns);
        case StateCause::filter_rejected:
            return set_state(s.state, "filter", s.detail, now_mono_ns);
        case StateCause::delivery_failed:
            return set_state(s.state, "chrony", s.detail, now_mono_ns);
        case StateCause::disruption:
            return set_state(
                s.state, "disruption",
                std::string("disruption (") + to_string(s.disruption) + "): " + s.detail,
                now_mono_ns);
        case StateCause::recovering:
            return set_state(s.state, "recovering",
                             "feeding the new clock; chrony is selecting it again", now_mono_ns);
        case StateCause::feeding:
            return set_state(s.state, "feeding", "feeding chrony from " + source_->describe(),
                             now_mono_ns);
    }
}

void Pipeline::log_events(const Engine::Outcome& out, int64_t now_mono_ns) {
    for (size_t i = 0; i < out.event_count; ++i) {
        const EngineEvent& e = out.events[i];
        switch (e.kind) {
            case EngineEvent::Kind::disruption:
                spdlog::warn(
                    "disruption ({}): {}; discarding calibration, resetting chrony; the new "
                    "clock's first sample follows as a burst",
                    to_string(e.disruption.cause), e.disruption.detail);
                break;
            case EngineEvent::Kind::maintenance_announced:
                spdlog::warn("host announces maintenance {}: a disruption is expected",
                             e.maintenance == Maintenance::imminent ? "within about an hour"
                                                                    : "within about a day");
                break;
            case EngineEvent::Kind::probation_started:
                spdlog::warn(
                    "no disruption marker announced the step: the new clock is on probation "
                    "for {} s (followed if it holds, dropped if it returns)",
                    seconds(e.value_ns));
                break;
            case EngineEvent::Kind::step_reverted:
                spdlog::warn(
                    "the host's clock is back where it was before the unannounced step of "
                    "{:+.6f} s: a transient, of which chrony saw nothing; feeding resumes",
                    seconds(e.value_ns));
                break;
            case EngineEvent::Kind::step_accepted:
                spdlog::warn(
                    "the unannounced step has held for {} s: following the host's new clock",
                    seconds(e.value_ns));
                break;
            case EngineEvent::Kind::step_moved:
                if (uint64_t suppressed = 0;
                    log_limiter_.allow("step-moved", now_mono_ns, suppressed)) {
                    spdlog::warn(
                        "the host's clock moved again ({:+.6f} s) during the probation of an "
                        "unannounced step: the probation starts over",
                        seconds(e.value_ns));
                }
                break;
            case EngineEvent::Kind::guest_clock_stepped:
                spdlog::info(
                    "the system clock was stepped by {:+.6f} s: restarting the filter "
                    "(the host's clock is not disrupted)",
                    seconds(e.value_ns));
                break;
            case EngineEvent::Kind::system_clock_slewed:
                spdlog::info(
                    "the offset moved by {:+.6f} s against CLOCK_REALTIME but not against "
                    "CLOCK_MONOTONIC_RAW: the system clock was slewed (chrony), the host's "
                    "clock did not step; restarting the filter",
                    seconds(e.value_ns));
                break;
            case EngineEvent::Kind::feeding_resumed:
                spdlog::info("{}feeding chrony, starting with a burst of the {}first sample",
                             e.after_disruption ? "hold-off over: " : "",
                             e.after_disruption ? "new clock's " : "");
                break;
            case EngineEvent::Kind::chrony_not_reset:
                spdlog::warn(
                    "chrony was not reset: it may mix the old clock with the new for a while");
                break;
        }
    }
}

void Pipeline::remember(const Sample& sample, bool sent) {
    recent_.push({sample.time_ns, sample.offset_ns, sample.delay_ns, sample.error_ns, sent});
    // Here, where a record is made: a poll that made none logs no (stale) sample.
    spdlog::debug("sample offset {:+.1f} ns delay {} ns error {} ns{}", sample.offset_ns,
                  sample.delay_ns, sample.error_ns, sent ? "" : " (held back)");
}

void Pipeline::carry_out(const Engine::Outcome& out, const PollClocks& clocks, bool after_poll,
                         bool update_sinks) {
    if (out.reset_chrony) {
        // The sink of the old clock's last datagrams is drained by the resetter before
        // chronyc runs (a datagram still queued would reach chrony after its reset).
        chrony_.request_reset(std::string("disruption: ") +
                              to_string(engine_.disruptions().last_cause));
    }
    log_events(out, clocks.mono_ns);
    SinkUpdate update;
    update.now_mono_ns = clocks.mono_ns;
    update.now_real_ns = clocks.real_ns;
    update.now_coarse_mono_ns = clocks.coarse_mono_ns;
    if (out.sample && out.copies > 0) {
        update.sample = &*out.sample;
        update.copies = out.copies;
        bool ok = true;
        for (Sink* sink : sinks_) {
            if (!sink->feeds_clock()) break;
            Status sent = sink->deliver(update);
            if (!sent && ok) {
                ok = false;
                delivery_error_ = sink->status().name + ": " + sent.error().message;
            }
        }
        log_events(engine_.delivered(ok, ok ? std::string_view() : delivery_error_, clocks.mono_ns),
                   clocks.mono_ns);
        remember(*out.sample, ok);
        update.fed_clock = ok;
    } else if (out.sample) {
        remember(*out.sample, false);
    }
    apply_state(clocks.mono_ns);
    if (!update_sinks) return;
    update.state = state_;
    update.disruptions = engine_.disruptions().count;
    if (const auto& host = engine_.host()) update.disruption_marker = host->disruption_marker;
    const std::optional<Estimate> estimate = engine_.estimate();
    if (after_poll && engine_.poll_sample() && estimate) {
        update.measured = &*engine_.poll_sample();
        update.estimate = &*estimate;
    }
    for (Sink* sink : sinks_) {
        if (sink->feeds_clock()) continue;
        if (Status done = sink->deliver(update); !done) {
            if (uint64_t suppressed = 0; log_limiter_.allow("sink", clocks.mono_ns, suppressed)) {
                spdlog::warn("{}", done.error().message);
            }
        }
    }
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

void Pipeline::poll(const PollClocks& clocks) {
    // One batch kept from poll to poll: its buffers are reused (no allocation).
    if (Status read = source_->poll_into(config_.source.readings, batch_); !read) {
        carry_out(engine_.poll_failed(clocks, read.error().message), clocks, true, true);
        return;
    }
    if (batch_.host) host_from_source_ = true;
    attach_signal(batch_, clocks.mono_ns);
    if (batch_recorder_) batch_recorder_(batch_);
    carry_out(engine_.poll(clocks, batch_), clocks, true, true);
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
    const Engine::Outcome& out = engine_.observe_host(*host, clocks);
    const bool disrupted = out.disrupted;
    // A disruption: readers of the sinks see it at once.
    carry_out(out, clocks, false, disrupted);
    return disrupted;
}

void Pipeline::chrony_reset_done(bool ok, int64_t now_mono_ns) {
    PollClocks clocks;
    clocks.mono_ns = now_mono_ns;
    const Engine::Outcome& out = engine_.chrony_reset_done(ok);
    carry_out(out, clocks, false, out.copies > 0);
}

void Pipeline::disrupt(Disruption disruption, int64_t now_mono_ns, int64_t now_real_ns) {
    PollClocks clocks;
    clocks.mono_ns = now_mono_ns;
    clocks.real_ns = now_real_ns;
    carry_out(engine_.disrupt(std::move(disruption), now_mono_ns, now_real_ns), clocks, false,
              false);
}

void Pipeline::report_no_source(std::string_view reason, int64_t now_mono_ns) {
    engine_.report_no_source(reason);
    apply_state(now_mono_ns);
}

}  // namespace vmrefclock

#include "filter/data_disruption_detector.h"

#include <cmath>
#include <cstdio>

namespace vmrefclock {

DataDisruptionDetector::DataDisruptionDetector(DataDisruptionOptions options)
    : options_(options),
      step_(options.step),
      suspend_(options.suspend),
      frequency_(options.frequency) {}

void DataDisruptionDetector::reset() {
    step_.reset();
    frequency_.reset();
    // The suspend baseline stays: BOOTTIME - MONOTONIC is not learnt from the clock
    // being disrupted, and a suspend right after a migration is still a suspend.
}

std::optional<Disruption> DataDisruptionDetector::observe_clocks(int64_t monotonic_before_ns,
                                                                 int64_t boottime_ns,
                                                                 int64_t monotonic_after_ns) {
    if (!options_.suspend_enabled) return std::nullopt;
    auto d = suspend_.observe(monotonic_before_ns, boottime_ns, monotonic_after_ns);
    if (d) reset();
    return d;
}

DataDisruptionDetector::SampleVerdict DataDisruptionDetector::observe_sample(
    const Sample& sample, const std::optional<Estimate>& before) {
    SampleVerdict verdict;
    disrupted_this_poll_ = false;
    if (!options_.step_enabled) return verdict;
    StepDetector::Observation obs = step_.observe(sample, before);
    verdict.trustworthy = obs.verdict == StepDetector::Verdict::accept;
    if (obs.disruption) {
        reset();
        disrupted_this_poll_ = true;
        verdict.disruption = std::move(obs.disruption);
    }
    return verdict;
}

std::optional<Disruption> DataDisruptionDetector::observe_estimate(const Estimate& after) {
    // A step candidate tilts the fit; judging the frequency then would report the
    // (possible) step a second time, as a frequency change.
    if (!options_.frequency_enabled || step_.holding() || disrupted_this_poll_) {
        return std::nullopt;
    }
    auto d = frequency_.observe(after);
    if (d) reset();
    return d;
}

std::optional<Disruption> DataDisruptionDetector::observe_confirmed_step(double step_ns) {
    disrupted_this_poll_ = false;
    // Below the floor the frequency detector keeps its baseline: a frequency change
    // also ends in a restart of the filter, and must still be judged as one.
    if (!options_.step_enabled || std::abs(step_ns) < static_cast<double>(options_.step.floor_ns)) {
        return std::nullopt;
    }
    reset();
    disrupted_this_poll_ = true;
    char detail[128];
    std::snprintf(detail, sizeof detail,
                  "the offset stepped by %+.0f ns (confirmed by the filter on the next poll)",
                  step_ns);
    return Disruption{Disruption::Cause::step, detail};
}

}  // namespace vmrefclock

#include "filter/frequency_change_detector.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace vmrefclock {
namespace {

constexpr double kLearnFraction = 0.75;

}  // namespace

void FrequencyChangeDetector::reset() {
    baseline_ppm_.reset();
    outside_ = 0;
}

std::optional<Disruption> FrequencyChangeDetector::observe(const Estimate& estimate) {
    if (estimate.samples < options_.min_samples || !std::isfinite(estimate.frequency_ppm)) {
        return std::nullopt;
    }
    const double f = estimate.frequency_ppm;
    if (!baseline_ppm_) {
        baseline_ppm_ = f;
        return std::nullopt;
    }
    const double change = f - *baseline_ppm_;
    if (std::abs(change) <= options_.bound_ppm) {
        outside_ = 0;
        // Only changes well inside the bound teach the baseline: a real change tilts the
        // windowed fit over a whole window, and a baseline chasing it all the way would
        // stay within the bound of it and never fire.
        if (std::abs(change) <= kLearnFraction * options_.bound_ppm) {
            *baseline_ppm_ += options_.baseline_weight * change;
        }
        return std::nullopt;
    }
    // Outside: the baseline is not moved towards a value that may be the disruption.
    if (++outside_ < options_.confirm_polls) return std::nullopt;
    char detail[160];
    std::snprintf(detail, sizeof detail,
                  "frequency changed by %+.1f ppm (%.1f -> %.1f ppm, bound %.1f ppm)", change,
                  *baseline_ppm_, f, options_.bound_ppm);
    reset();
    return Disruption{Disruption::Cause::frequency, detail};
}

}  // namespace vmrefclock

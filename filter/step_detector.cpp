#include "filter/step_detector.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

// On a converging guest: the offsets are reference - the guest's CLOCK_REALTIME, which
// the guest's chrony steers. While chrony slews away a large initial offset (ms), the
// slope of the offset changes by tens of ppm, and the detector may take that for a step.
// The floor keeps this to corrections of several hundred µs and more, which chrony
// normally steps (makestep) rather than slews.

namespace vmrefclock {
namespace {

std::string us(double ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f us", ns / 1000.0);
    return buf;
}

}  // namespace

double StepDetector::excess(const Sample& sample, const Estimate& model, double* residual) const {
    const double dt_s = static_cast<double>(sample.time_ns - model.time_ns) * 1e-9;
    const double predicted = model.offset_ns + model.frequency_ppm * 1e3 * dt_s;  // ppm*1e3 = ns/s
    *residual = sample.offset_ns - predicted;
    const double allowed = static_cast<double>(sample.error_ns) + model.error_bound_ns;
    const double margin =
        std::max(static_cast<double>(options_.floor_ns), options_.sigma_factor * model.stddev_ns);
    return std::abs(*residual) - allowed - margin;
}

StepDetector::Observation StepDetector::observe(const Sample& sample,
                                                const std::optional<Estimate>& before) {
    Observation out;
    if (held_) {
        // Judge the confirming sample against the model the candidate broke from.
        double residual = 0;
        const bool outside = excess(sample, held_->model, &residual) > 0;
        const bool same_side = (residual > 0) == (held_->residual_ns > 0);
        const Held held = *held_;
        held_.reset();
        if (outside && same_side) {
            out.verdict = Verdict::step;
            out.residual_ns = residual;
            out.disruption = Disruption{Disruption::Cause::step,
                                        "offset stepped by " + us(residual) + " (" +
                                            us(held.residual_ns) + " then " + us(residual) +
                                            " from the prediction, confirmed over two polls)"};
            return out;
        }
        // It was a spike: this sample is judged afresh below.
    }
    if (!before || before->samples < options_.min_samples) return out;
    double residual = 0;
    if (excess(sample, *before, &residual) > 0) {
        held_ = Held{*before, residual};
        out.verdict = Verdict::hold;
    }
    out.residual_ns = residual;
    return out;
}

}  // namespace vmrefclock

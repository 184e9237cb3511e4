// StepDetector: a disruption seen in the data, for a PHC with no vmclock marker beside it
// (and for host steps that no marker announces, like KVM's master clock updates).
//
// A sample is a step candidate when its offset lies far outside what the model before it
// predicts: beyond the sample's own error and the prediction's error bound by more than
// max(floor_ns, sigma_factor * stddev). One such sample may be a spike, so it is only
// held; the step is confirmed when the next sample is also outside, on the same side, of
// the same held prediction (not of a model that may already have absorbed the first).
#pragma once

#include <cstdint>
#include <optional>

#include "filter/disruption_monitor.h"
#include "filter/types.h"

namespace vmrefclock {

struct StepDetectorOptions {
    // Steps smaller than this are left to the estimator and chrony to follow. 250 µs is
    // well below KVM's master clock update steps (~4.5 ms after 40 h), while the error a
    // sample can carry (half its delay, up to 100 µs for a 200 µs preemption) has already
    // been subtracted, and a locked chrony's steering changes the slope by a few ppm
    // (a few µs per poll). See the note in the .cpp on a converging guest.
    int64_t floor_ns = 250'000;
    // How many residual standard deviations the excess must also exceed.
    double sigma_factor = 6.0;
    // A model of fewer samples predicts too poorly to judge (LS needs 3 for a stddev).
    int min_samples = 4;
};

class StepDetector {
  public:
    enum class Verdict {
        accept,  // consistent with the model
        hold,    // outside: possibly a step, to be confirmed by the next sample
        step,    // confirmed: a disruption
    };
    struct Observation {
        Verdict verdict = Verdict::accept;
        double residual_ns = 0;                // offset - prediction (0 when there was no model)
        std::optional<Disruption> disruption;  // set iff verdict == step
    };

    explicit StepDetector(StepDetectorOptions options = {}) : options_(options) {}

    // `before` is the estimate as it was before `sample` was added to the estimator
    // (SampleFilter::estimate() before process()); it is extrapolated to the sample's time.
    Observation observe(const Sample& sample, const std::optional<Estimate>& before);
    // After any disruption: forget a held candidate.
    void reset() { held_.reset(); }
    bool holding() const { return held_.has_value(); }
    const StepDetectorOptions& options() const { return options_; }

  private:
    struct Held {
        Estimate model;      // the prediction the candidate was judged against
        double residual_ns;  // the candidate's residual
    };
    // How far beyond the allowed band `sample` lies against `model` (<= 0: inside);
    // *residual gets offset - prediction.
    double excess(const Sample& sample, const Estimate& model, double* residual) const;

    StepDetectorOptions options_;
    std::optional<Held> held_;
};

}  // namespace vmrefclock

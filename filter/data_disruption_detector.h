// DataDisruptionDetector: the three detectors that find disruptions in the data rather
// than in a host's marker (step, suspend, frequency), run in the right order so that one
// event gives ONE disruption.
//
// Per poll the engine (filter/engine.h) calls, in this order:
//   1. observe_clocks(MONOTONIC, BOOTTIME, MONOTONIC)   (read back to back)
//   2. observe_sample(sample, estimate_before)          (estimate before the sample went in)
//   3. observe_estimate(estimate_after)                  (after the sample went in)
// and handles any returned Disruption like a vmclock marker change (reset the filter,
// hold off, reset chrony's sources). Whatever fires, the detector resets itself; after a
// disruption from elsewhere (the vmclock marker) the engine calls reset().
#pragma once

#include <cstdint>
#include <optional>

#include "filter/disruption_monitor.h"
#include "filter/frequency_change_detector.h"
#include "filter/step_detector.h"
#include "filter/suspend_detector.h"
#include "filter/types.h"

namespace vmrefclock {

struct DataDisruptionOptions {
    bool step_enabled = true;
    bool suspend_enabled = true;
    bool frequency_enabled = true;
    StepDetectorOptions step;
    SuspendDetectorOptions suspend;
    FrequencyChangeDetectorOptions frequency;
};

class DataDisruptionDetector {
  public:
    struct SampleVerdict {
        // False while the sample is a step candidate: better not sent to chrony (it is
        // either a spike or the first sample after a step). The estimator may have it
        // already; the step detector does not depend on that.
        bool trustworthy = true;
        std::optional<Disruption> disruption;
    };

    explicit DataDisruptionDetector(DataDisruptionOptions options = {});

    std::optional<Disruption> observe_clocks(int64_t monotonic_before_ns, int64_t boottime_ns,
                                             int64_t monotonic_after_ns);
    SampleVerdict observe_sample(const Sample& sample, const std::optional<Estimate>& before);
    std::optional<Disruption> observe_estimate(const Estimate& after);
    // Instead of 2. and 3. when the filter confirmed a step itself and restarted its
    // model (SampleFilter::confirmed_step_ns): a disruption if the step reaches the
    // step detector's floor, smaller ones are left to the filter as the step detector
    // leaves them.
    std::optional<Disruption> observe_confirmed_step(double step_ns);
    void reset();

    const DataDisruptionOptions& options() const { return options_; }

  private:
    DataDisruptionOptions options_;
    StepDetector step_;
    SuspendDetector suspend_;
    FrequencyChangeDetector frequency_;
    // Set when this poll's sample revealed a disruption: the estimate after it still
    // contains the disrupted window and must not become the new frequency baseline.
    bool disrupted_this_poll_ = false;
};

}  // namespace vmrefclock

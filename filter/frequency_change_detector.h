// FrequencyChangeDetector: the estimated frequency (reference vs system) moved beyond a
// bound from its recent baseline: a migration to a host whose clock runs at another rate,
// or a TSC frequency change, that came without a step large enough for StepDetector.
//
// The baseline is a slow moving average, so the guest's chrony steering its own clock
// (which also changes d(offset)/dt, by a few ppm once locked) moves it along instead of
// firing. Only estimates over at least min_samples samples are judged: the frequency of
// a short fit is noise.
#pragma once

#include <optional>

#include "filter/disruption_monitor.h"
#include "filter/types.h"

namespace vmrefclock {

struct FrequencyChangeDetectorOptions {
    // Host clocks disciplined by NTP differ by at most tens of ppm, and a locked chrony
    // steers by a few; 50 ppm is beyond both, and below the hundreds of ppm of a host
    // without TSC scaling.
    double bound_ppm = 50.0;
    int min_samples = 16;
    // Consecutive estimates beyond the bound before it counts (one outlier sample can
    // tilt one fit).
    int confirm_polls = 2;
    // Weight of each new estimate in the baseline (~1/weight polls of memory). The
    // baseline lags a ramp by about slope/weight, and learns only from estimates within
    // 0.75 x bound of it: steering of up to ~0.35 ppm per poll (35 ppm in 50 s) is
    // followed, while a real change stops the learning before it is reached and fires
    // once it exceeds the bound (in practice from ~1.1 x bound, since the baseline
    // follows the first part of the fit's tilt).
    double baseline_weight = 0.01;
};

class FrequencyChangeDetector {
  public:
    explicit FrequencyChangeDetector(FrequencyChangeDetectorOptions options = {})
        : options_(options) {}

    // The estimate after this poll's sample was added.
    std::optional<Disruption> observe(const Estimate& estimate);
    void reset();
    // Read by tests only: whether slow steering moves the baseline (and a disruption
    // forgets it) shows in observe() only hundreds of polls later, if at all.
    std::optional<double> baseline_ppm() const { return baseline_ppm_; }
    const FrequencyChangeDetectorOptions& options() const { return options_; }

  private:
    FrequencyChangeDetectorOptions options_;
    std::optional<double> baseline_ppm_;
    int outside_ = 0;
};

}  // namespace vmrefclock

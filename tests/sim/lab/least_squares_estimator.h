// LeastSquaresEstimator: an unweighted least-squares line through a sliding window.
// The daemon's v1 model, kept in the lab (BasicFilter, and the detectors' tests).
//
//   offset(t) = a + b * (t - t_ref),  t_ref = the newest sample's time
//
// Fitting in seconds relative to the newest sample (and offsets relative to the oldest
// one) keeps every quantity small: raw ~1.8e18 ns time points squared would lose all
// precision in a double.
//
// Error bound (v1). The fitted value at x0 = t - t_ref is a linear combination of the
// window's offsets, sum(w_i * y_i), with w_i = 1/n + (x_i - xm)(x0 - xm) / Sxx. So:
//   error_bound = sum(|w_i| * error_i)  +  3 * stddev * sqrt(sum(w_i^2))
// The first term is sound whatever the errors are, provided every sample is within its
// own error bound and the true offset is linear over the window (it reduces to the
// sample's error with one sample, and to the newest sample's error with two). The second
// is a 3-sigma margin for what the line does not explain (wander, noise beyond the
// samples' bounds), from the residuals; sqrt(sum(w_i^2)) is the usual standard-error
// factor sqrt(1/n + (x0 - xm)^2 / Sxx), which grows when extrapolating. No term yet for
// frequency wander beyond the window when predicting far ahead.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "filter/types.h"
#include "tests/sim/lab/estimator.h"

namespace vmrefclock::lab {

class LeastSquaresEstimator final : public Estimator {
  public:
    static constexpr int kDefaultWindow = 32;

    // window < 1 is taken as 1 (offset only, frequency 0).
    explicit LeastSquaresEstimator(int window = kDefaultWindow);

    // Samples must come with strictly increasing time. A sample at or before a sample
    // already in the window means the system clock went back (a step): the window's
    // samples at or after the new time are dropped and the new sample kept, since the
    // newest measurement is the one that describes the clock now. A sample whose offset
    // is not finite is ignored, so that nothing downstream ever sees NaN or inf.
    void add(const Sample& sample) override;
    std::optional<Estimate> estimate() const override;
    std::optional<Estimate> predict(int64_t time_ns) const override;
    void reset() override;
    int size() const override { return static_cast<int>(window_.size()); }

    int window() const { return capacity_; }

  private:
    int capacity_;
    std::deque<Sample> window_;  // oldest first, times strictly increasing
};

}  // namespace vmrefclock::lab

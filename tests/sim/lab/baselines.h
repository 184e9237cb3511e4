// The baselines of the lab table, implemented from their published descriptions and
// behind the daemon's SampleFilter interface so the scorer treats every method alike.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "filter/robust_quantiles.h"
#include "filter/sample_filter.h"

namespace vmrefclock::lab {

// phc2sys (linuxptp): of each PTP_SYS_OFFSET batch, the single reading with the lowest
// delay; its midpoint is the timestamp. No state (its PI servo is not a sample filter).
class Phc2sysFilter final : public SampleFilter {
  public:
    Result<Sample> process(const Batch& batch) override;
    std::optional<Estimate> estimate() const override { return last_; }
    void reset() override { last_.reset(); }
    int samples_in_window() const override { return last_ ? 1 : 0; }

  private:
    std::optional<Estimate> last_;
};

// chrony's PHC refclock: per poll, the readings whose delay lies between the 10 % and
// 20 % quantiles of the delays seen so far (+-0.5 ns) are averaged, else the
// minimum-delay reading is used; then chrony's refclock median filter over the samples
// of one chrony poll: keep those within 1.5x the lowest dispersion, sort by offset, keep
// the middle 60 %, average. One sample comes out per chrony poll (samples_per_poll
// batches); the other polls return an error ("accumulating").
//
// chrony estimates the quantiles with a stochastic estimator (quantiles.c); here they
// are exact over the last kDelayHistory readings, which can only help the baseline.
class ChronyStyleFilter final : public SampleFilter {
  public:
    static constexpr size_t kDelayHistory = 1000;

    explicit ChronyStyleFilter(int samples_per_poll = 4);
    Result<Sample> process(const Batch& batch) override;
    std::optional<Estimate> estimate() const override { return last_; }
    // What the daemon's disruption handling amounts to for chrony: `reset sources` plus
    // a whole poll of hold-off empties the median filter. The PHC driver's delay
    // quantiles are not touched by a reset.
    void reset() override;
    int samples_in_window() const override { return static_cast<int>(pending_.size()); }

  private:
    std::optional<Sample> phc_sample(const Batch& batch);
    Sample median_filter();

    int samples_per_poll_;
    int batches_ = 0;
    SlidingQuantiles delays_{kDelayHistory};
    std::vector<Sample> pending_;
    std::optional<Estimate> last_;
};

}  // namespace vmrefclock::lab

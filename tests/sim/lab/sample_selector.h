// SampleSelector: one poll's Batch of interleaved readings -> one Sample. The daemon's
// v1 per-poll selection, kept in the lab (BasicFilter); the daemon runs RobustFilter.
//
// Each reading brackets the reference read between two system clock reads; the
// reference was read somewhere inside [pre, post], so a reading's offset is uncertain by
// up to half its delay. Readings with the lowest delay are the least disturbed
// (preemption, SMIs, a vCPU descheduled mid-read), so the selector keeps only those.
#pragma once

#include <cstdint>

#include "filter/result.h"
#include "filter/types.h"

namespace vmrefclock::lab {

// At namespace scope rather than nested so it can be a default argument with its
// default member initializers (a nested one cannot, until the enclosing class is complete).
struct SampleSelectorOptions {
    // A delay above this is not a clock read but an interruption; such a reading says
    // little about the offset. 10 ms is far above any real read (tens of ns to tens of µs).
    int64_t max_delay_ns = 10'000'000;
    // Fraction of the valid readings (lowest delay first) that are combined.
    // Clamped into (0, 1]; at least one reading is always kept.
    double keep_fraction = 0.3;
};

class SampleSelector {
  public:
    explicit SampleSelector(SampleSelectorOptions options = {});

    // The Sample of a batch, or an error when the batch is unusable, empty, or every
    // reading was rejected. The Sample's leap stays Leap::none: the daemon maps the
    // host's leap indicator, the selector knows nothing about announcements.
    Result<Sample> select(const Batch& batch) const;

    const SampleSelectorOptions& options() const { return options_; }

  private:
    SampleSelectorOptions options_;
};

}  // namespace vmrefclock::lab

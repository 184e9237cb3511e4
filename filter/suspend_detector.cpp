#include "filter/suspend_detector.h"

#include <algorithm>
#include <string>

namespace vmrefclock {

std::optional<Disruption> SuspendDetector::observe(int64_t monotonic_before_ns, int64_t boottime_ns,
                                                   int64_t monotonic_after_ns) {
    // Tolerate swapped arguments rather than invert the interval.
    const int64_t mono_lo = std::min(monotonic_before_ns, monotonic_after_ns);
    const int64_t mono_hi = std::max(monotonic_before_ns, monotonic_after_ns);
    const int64_t low = boottime_ns - mono_hi;
    const int64_t high = boottime_ns - mono_lo;
    if (!seen_) {
        seen_ = true;
        high_ns_ = high;
        return std::nullopt;
    }
    // The smallest jump consistent with both intervals.
    const int64_t jump = low - high_ns_;
    high_ns_ = high;
    if (jump <= options_.threshold_ns) return std::nullopt;
    return Disruption{Disruption::Cause::suspend,
                      "CLOCK_BOOTTIME - CLOCK_MONOTONIC jumped by at least " +
                          std::to_string(jump / 1'000'000) + " ms: the guest was suspended"};
}

}  // namespace vmrefclock

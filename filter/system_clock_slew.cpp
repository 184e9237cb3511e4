#include "filter/system_clock_slew.h"

#include <algorithm>
#include <cmath>

namespace vmrefclock {

void SystemClockSlew::observe(int64_t raw_ns, int64_t real_ns, double offset_ns) {
    if (raw_ns == 0) return;
    // REALTIME - RAW is about 1.7e18 ns: taken as an integer difference first, then made
    // a double, so the offset's sub-ns part survives.
    const double realtime_minus_raw_ns = static_cast<double>(real_ns - raw_ns);
    points_[count_ % points_.size()] = {raw_ns, offset_ns + realtime_minus_raw_ns};
    ++count_;
}

const SystemClockSlew::Point& SystemClockSlew::back(size_t k) const {
    return points_[(count_ - 1 - k) % points_.size()];
}

bool SystemClockSlew::explains(double step_ns) const {
    if (count_ < points_.size()) return false;
    const Point& now = back(0);
    const Point& before = back(2);
    const Point& earlier = back(3);
    const double span_ns = static_cast<double>(before.raw_ns - earlier.raw_ns);
    if (span_ns <= 0) return false;
    // The host's rate against RAW (ppm), from the two polls before the step.
    const double slope = (before.offset_raw_ns - earlier.offset_raw_ns) / span_ns;
    const double predicted =
        before.offset_raw_ns + slope * static_cast<double>(now.raw_ns - before.raw_ns);
    const double jump_ns = std::fabs(now.offset_raw_ns - predicted);
    return jump_ns < std::min(kToleranceNs, 0.25 * std::fabs(step_ns));
}

}  // namespace vmrefclock

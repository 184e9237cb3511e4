#include "filter/holdoff.h"

#include <algorithm>
#include <limits>

namespace vmrefclock {

int64_t HoldOff::interval_for_poll(int poll) {
    poll = std::clamp(poll, -7, 24);
    constexpr int64_t kSecond = 1'000'000'000;
    return poll >= 0 ? kSecond << poll : kSecond >> -poll;
}

HoldOff::HoldOff(int64_t holdoff_ns) : holdoff_ns_(std::max<int64_t>(holdoff_ns, 0)) {}

HoldOff::Actions HoldOff::start(int64_t now_ns) {
    active_ = true;
    // Saturate rather than overflow for a now near the end of the int64 range.
    end_ns_ = now_ns > std::numeric_limits<int64_t>::max() - holdoff_ns_
                  ? std::numeric_limits<int64_t>::max()
                  : now_ns + holdoff_ns_;
    return Actions{.discard_calibration = true, .reset_chrony = true, .resumed = false};
}

HoldOff::Actions HoldOff::tick(int64_t now_ns) {
    if (!active_ || now_ns < end_ns_) return Actions{};
    active_ = false;
    return Actions{.discard_calibration = false, .reset_chrony = true, .resumed = true};
}

bool HoldOff::feeding([[maybe_unused]] int64_t now_ns) const {
    return !active_;
}

}  // namespace vmrefclock

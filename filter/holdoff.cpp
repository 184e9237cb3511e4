#include "filter/holdoff.h"

#include <algorithm>
#include <limits>

namespace vmrefclock {

Sample HoldOff::burst_copy(const Sample& sample, int k, int n) {
    Sample copy = sample;
    copy.time_ns -= static_cast<int64_t>(n - 1 - k) * 1000;
    return copy;
}

int64_t HoldOff::interval_for_poll(int poll) {
    poll = std::clamp(poll, -7, 24);
    constexpr int64_t kSecond = 1'000'000'000;
    return poll >= 0 ? kSecond << poll : kSecond >> -poll;
}

HoldOff::HoldOff(int64_t chrony_poll_ns) : chrony_poll_ns_(std::max<int64_t>(chrony_poll_ns, 0)) {}

HoldOff::Actions HoldOff::start(int64_t) {
    phase_ = Phase::resetting;
    return Actions{.discard_calibration = true, .reset_chrony = true, .resumed = false};
}

void HoldOff::reset_done() {
    if (phase_ == Phase::resetting) phase_ = Phase::awaiting_sample;
}

HoldOff::Actions HoldOff::tick(int64_t now_ns) {
    if (phase_ == Phase::recovering && now_ns >= end_ns_) phase_ = Phase::steady;
    return Actions{};
}

HoldOff::Actions HoldOff::burst_sent(int64_t now_ns, bool delivered) {
    if (!wants_burst() || !delivered) return Actions{};
    phase_ = Phase::recovering;
    // The third refclock poll after the burst comes at most 3 polls later.
    const int64_t span_ns = kPollsToSelect * chrony_poll_ns_ + chrony_poll_ns_ / 4;
    end_ns_ = now_ns > std::numeric_limits<int64_t>::max() - span_ns
                  ? std::numeric_limits<int64_t>::max()
                  : now_ns + span_ns;
    return Actions{.resumed = true};
}

int64_t HoldOff::sampling_interval_ns(int64_t configured_ns) const {
    if (phase_ == Phase::steady || phase_ == Phase::starting) return configured_ns;
    // Not below 1 ms, whatever the poll (the config allows 2^-4 s: 7.8 ms).
    const int64_t fast_ns = std::max<int64_t>(chrony_poll_ns_ / kRecoverySamplesPerPoll, 1'000'000);
    return std::min(configured_ns, fast_ns);
}

}  // namespace vmrefclock

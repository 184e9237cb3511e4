// SystemClockSlew: tells a step of the host's clock from a slew of the guest's own.
//
// The filter models (reference - CLOCK_REALTIME). chrony slews CLOCK_REALTIME (and
// CLOCK_MONOTONIC with it) by up to 83 ms/s, so after a disruption, or at a start with
// the guest's clock a millisecond off, a slew of ~1 ms passes within one poll and looks
// to the filter exactly like a step of the host's clock. CLOCK_MONOTONIC_RAW is never
// slewed: (reference - CLOCK_MONOTONIC_RAW) = offset + (REALTIME - RAW) steps only when
// the host's clock does. Pure: the clocks come in as values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace vmrefclock {

class SystemClockSlew {
  public:
    // One poll: CLOCK_MONOTONIC_RAW and CLOCK_REALTIME read together (raw_ns 0: not read,
    // ignored) and the batch's offset (reference - CLOCK_REALTIME).
    void observe(int64_t raw_ns, int64_t real_ns, double offset_ns);
    // True when the step the filter confirmed (step_ns, in reference - REALTIME) is not in
    // (reference - RAW): extrapolated from the two polls before the step (its first sample
    // and its confirmation are the last two), that jumped by less than a quarter of the
    // step and less than `tolerance_ns`. False when it cannot tell (fewer than 4 polls).
    bool explains(double step_ns) const;
    void reset() { count_ = 0; }

    static constexpr double kToleranceNs = 50'000;

  private:
    struct Point {
        int64_t raw_ns;
        double offset_raw_ns;  // reference - CLOCK_MONOTONIC_RAW, up to a constant
    };
    const Point& back(size_t k) const;  // k = 0: the newest
    std::array<Point, 4> points_{};
    size_t count_ = 0;  // observations so far (the ring holds the last 4)
};

}  // namespace vmrefclock

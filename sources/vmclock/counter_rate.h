// CounterRateMeter: the guest's own measurement of its CPU counter's rate (TSC, CNTVCT),
// against CLOCK_MONOTONIC_RAW, which neither chrony's slewing nor a step of the guest's
// clock moves. The counter-rate plausibility gate (filter/plausibility.h) compares a
// vmclock page's counter period with it.
//
// Each poll adds one bracketed read (RAW, counter, RAW). The rate is measured from the
// first read to the latest, so it gets more precise the longer the daemon runs; its
// uncertainty is the two brackets over the span. A counter or clock that jumps or changes
// its rate (a migration that did not preserve the guest's counter, a resume) starts the
// measurement over; until the new one is good to kFreshEnough (a poll or two) the last
// rate stands.
//
// Pure: the caller reads the clocks.
#pragma once

#include <cstdint>
#include <optional>

namespace vmrefclock::vmclock {

class CounterRateMeter {
  public:
    struct Rate {
        double hz = 0;
        double uncertainty = 0;  // relative
    };
    // A fresh measurement replaces a carried-over rate once it is this good.
    static constexpr double kFreshEnough = 1e-4;
    // One poll-to-poll rate this far from the measured rate means the counter jumped or
    // changed its rate (half the counter-rate gate's bound): measure afresh.
    static constexpr double kJump = 5e-4;

    void add(int64_t raw_before_ns, uint64_t counter, int64_t raw_after_ns);
    std::optional<Rate> rate() const;
    // Span of the current measurement (0 before two reads).
    int64_t span_ns() const;

  private:
    struct Point {
        int64_t raw_ns = 0;   // the middle of the bracket
        int64_t half_ns = 0;  // half its width
        uint64_t counter = 0;
    };
    static std::optional<Rate> between(const Point& a, const Point& b);
    void restart(const Point& p);

    std::optional<Point> first_;
    std::optional<Point> last_;
    std::optional<Rate> carried_;  // from before the last restart
};

}  // namespace vmrefclock::vmclock

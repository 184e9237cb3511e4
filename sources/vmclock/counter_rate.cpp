#include "sources/vmclock/counter_rate.h"

#include <cmath>

namespace vmrefclock::vmclock {

std::optional<CounterRateMeter::Rate> CounterRateMeter::between(const Point& a, const Point& b) {
    if (b.raw_ns <= a.raw_ns || b.counter < a.counter) return std::nullopt;
    const double span = static_cast<double>(b.raw_ns - a.raw_ns);
    return Rate{static_cast<double>(b.counter - a.counter) * 1e9 / span,
                static_cast<double>(a.half_ns + b.half_ns) / span};
}

void CounterRateMeter::restart(const Point& p) {
    if (auto r = rate()) carried_ = r;
    first_ = p;
    last_ = p;
}

void CounterRateMeter::add(int64_t raw_before_ns, uint64_t counter, int64_t raw_after_ns) {
    if (raw_after_ns < raw_before_ns) return;
    const int64_t half = (raw_after_ns - raw_before_ns) / 2;
    const Point p{raw_before_ns + half, half, counter};
    if (!first_) {
        first_ = last_ = p;
        return;
    }
    std::optional<Rate> step = between(*last_, p);
    if (!step) {  // the counter or RAW went back
        restart(p);
        return;
    }
    // Judged against this measurement only: right after a restart the carried rate is
    // the one that may no longer hold.
    if (std::optional<Rate> measured = between(*first_, *last_)) {
        const double off = std::abs(step->hz / measured->hz - 1.0);
        if (off > kJump && off > 4 * (step->uncertainty + measured->uncertainty)) {
            restart(p);
            return;
        }
    }
    last_ = p;
}

std::optional<CounterRateMeter::Rate> CounterRateMeter::rate() const {
    std::optional<Rate> fresh;
    if (first_ && last_) fresh = between(*first_, *last_);
    if (fresh && (!carried_ || fresh->uncertainty <= kFreshEnough)) return fresh;
    return carried_;
}

int64_t CounterRateMeter::span_ns() const {
    return first_ && last_ ? last_->raw_ns - first_->raw_ns : 0;
}

}  // namespace vmrefclock::vmclock

// The vmclock time formula, pure: counter -> time in the page's time scale.
#pragma once

#include <cstdint>
#include <optional>

namespace vmrefclock::vmclock {

struct CounterCalibration {
    uint64_t counter_value = 0;
    uint64_t counter_period_frac_sec = 0;
    uint8_t counter_period_shift = 0;
    uint64_t time_sec = 0;
    uint64_t time_frac_sec = 0;
};

// t = time_sec + (((counter - counter_value) * period) >> shift + time_frac) / 2^64,
// in integer nanoseconds since the page's epoch. A counter a little behind counter_value
// (a read racing an update) gives a time a little before time_sec. nullopt when the
// result cannot be represented (counter absurdly far away, time beyond year 2262).
std::optional<int64_t> counter_to_ns(const CounterCalibration& cal, uint64_t counter);

}  // namespace vmrefclock::vmclock

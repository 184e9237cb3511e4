#include "sources/vmclock/time_math.h"

namespace vmrefclock::vmclock {

namespace {
using u128 = unsigned __int128;
using i128 = __int128;
constexpr int64_t kNsPerSec = 1'000'000'000;
}  // namespace

std::optional<int64_t> counter_to_ns(const CounterCalibration& cal, uint64_t counter) {
    if (cal.counter_period_shift >= 64) return std::nullopt;
    // The counter delta is taken as signed: reads may land just before counter_value.
    const bool behind = counter < cal.counter_value;
    const uint64_t magnitude = behind ? cal.counter_value - counter : counter - cal.counter_value;
    // 64 x 64 bits always fits in 128; after the shift it is in units of 2^-64 s.
    const u128 elapsed_frac =
        (static_cast<u128>(magnitude) * cal.counter_period_frac_sec) >> cal.counter_period_shift;
    // Keep whole seconds of the elapsed time well inside int64 so the sum below cannot overflow.
    if ((elapsed_frac >> 64) > static_cast<u128>(INT64_MAX / 4)) return std::nullopt;
    if (cal.time_sec > static_cast<uint64_t>(INT64_MAX / 4)) return std::nullopt;

    // Time in units of 2^-64 s as a signed 128-bit value (seconds < 2^62, so no overflow).
    i128 t = (static_cast<i128>(cal.time_sec) << 64) + static_cast<i128>(cal.time_frac_sec);
    t += behind ? -static_cast<i128>(elapsed_frac) : static_cast<i128>(elapsed_frac);

    // Floor division into seconds and a 2^-64 fraction, also for negative t.
    const i128 sec = t >> 64;  // arithmetic shift: floor
    const uint64_t frac = static_cast<uint64_t>(t);
    const int64_t frac_ns = static_cast<int64_t>((static_cast<u128>(frac) * kNsPerSec) >> 64);
    if (sec > INT64_MAX / kNsPerSec - 1 || sec < INT64_MIN / kNsPerSec + 1) return std::nullopt;
    return static_cast<int64_t>(sec) * kNsPerSec + frac_ns;
}

}  // namespace vmrefclock::vmclock

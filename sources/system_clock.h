// Reading a Linux clock as integer nanoseconds: the one place the daemon, its sources
// and its sockets turn a timespec into the project's time-point unit. Inline because
// the vmclock reader brackets every page read with it.
#pragma once

#include <time.h>

#include <cstdint>

namespace vmrefclock {

inline int64_t read_clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace vmrefclock

// vmrefclockctl's bounded-time commands, read from the segment the daemon writes
// ([clockbound] path) with the project's C client, so they see exactly what any
// ClockBound application sees:
//   now        earliest, latest, bound and status
//   wait-sync  returns once the status is Synchronized and the bound is at most the
//              maximum; on timeout exits non-zero naming what was missing.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "filter/result.h"

namespace vmrefclock {

// "250ms", "1.5s", "10us", "2m", "1h"; a bare number is seconds. Errors name the text.
Result<int64_t> parse_duration_ns(std::string_view text);
// "1.234 us", "12.0 ms": the unit that keeps 1-999.
std::string format_duration_ns(int64_t ns);
// A published bound: format_duration_ns, or "none (...)" for the segment's no-bound value.
std::string format_bound_ns(int64_t bound_ns);

struct ClockBoundPaths {
    std::string shm = "/var/run/clockbound/shm0";
    std::string vmclock = "/dev/vmclock0";
};

// Exit code 0 when the segment was read (whatever the status), 1 when it could not be.
int clockbound_now(const ClockBoundPaths& paths, std::ostream& out, std::ostream& err);

struct WaitSyncOptions {
    int64_t max_bound_ns = 100'000'000;  // chrony-wait's 0.1 s maximum correction
    int64_t timeout_ns = 180'000'000'000;
    int64_t check_interval_ns = 100'000'000;
};
// Exit code 0 when synchronised in time, 1 on timeout (the reason on `err`).
int clockbound_wait_sync(const ClockBoundPaths& paths, const WaitSyncOptions& options,
                         std::ostream& out, std::ostream& err);

}  // namespace vmrefclock

// Plausibility gates: what every batch must pass before the filter sees it, so that a host
// publishing nonsense (a buggy or hostile vmclock page writer, an uninitialised PHC) is
// refused with a named reason instead of reaching chrony.
//
// No gate compares the host's time with the guest's: a freshly booted guest may be hours
// off and must still take the host's time. They judge the host's time against the
// calendar, and its rate against the guest's own hardware clock (CLOCK_MONOTONIC_RAW, the
// counter as the guest kernel calibrated it), which neither a step of the guest's clock nor
// chrony's slewing moves:
//
//   calendar      every reading lies in [2020-01-01, 2200-01-01) UTC. Nothing earlier can
//                 be a host's real time now; int64 nanoseconds end in 2262.
//   counter-rate  the counter period a vmclock page publishes agrees with the guest's own
//                 measurement of that counter within rate_bound_ppm (plus the uncertainty
//                 of the measurement). Catches counter_period_shift = 63 (time stands
//                 still) and counter_period_frac_sec = 2^64-1 (up to 2x fast).
//   frozen, backwards, racing
//                 within one poll the host's time advances with the system's: from the
//                 first to the last reading by 0.5 to 2 times the system time that passed.
//                 The width leaves room for any chrony slew (8.3 % at most); a host clock
//                 that stands still or goes back is far outside it.
//   host-rate     across polls the host's time advances at the rate of CLOCK_MONOTONIC_RAW
//                 within rate_bound_ppm: the median of the last 5 poll-to-poll rates, so a
//                 step (one interval) is left to the step detector, and a suspend (RAW
//                 stops, the host does not) is one interval too. For a PHC this is the
//                 counter-rate gate's equivalent.
//
// rate_bound_ppm = 1000: the kernel lets NTP correct a host clock's frequency by at most
// 500 ppm, and a guest kernel's calibration of its counter is good to far better than
// 100 ppm (exact with tsc_known_freq); a sane host is never 1000 ppm off. Broken periods
// are off by percent (a 2^64-1 period) up to "stands still" (shift 63).
//
// Pure: the caller passes the clocks it read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "filter/types.h"

namespace vmrefclock {

struct PlausibilityOptions {
    int64_t earliest_ns = 1'577'836'800LL * 1'000'000'000;  // 2020-01-01T00:00:00Z
    int64_t latest_ns = 7'258'118'400LL * 1'000'000'000;    // 2200-01-01T00:00:00Z
    double rate_bound_ppm = 1000;
    double min_poll_rate = 0.5;  // host / system time within one poll
    double max_poll_rate = 2.0;
    int rate_intervals = 5;  // poll-to-poll rates the host-rate gate takes the median of
};

// Why a batch was refused: the gate's name (stable, for logs and tests) and the values.
struct Implausible {
    std::string gate;  // "calendar", "counter-rate", "frozen", "backwards", "racing", "host-rate"
    std::string detail;
    // "implausible host time (<gate>): <detail>", the status reason.
    std::string reason() const;
};

std::optional<Implausible> check_calendar(const Batch& batch, const PlausibilityOptions& options);
std::optional<Implausible> check_counter_rate(const CounterRateCheck& check,
                                              const PlausibilityOptions& options);
// First against last reading of the batch, in the order they were taken.
std::optional<Implausible> check_advancing(const Batch& batch, const PlausibilityOptions& options);

// The host-rate gate: needs the history of earlier polls.
class HostRateGate {
  public:
    explicit HostRateGate(const PlausibilityOptions& options = {});
    // real_ns, raw_ns: CLOCK_REALTIME and CLOCK_MONOTONIC_RAW read together at this poll
    // (raw_ns 0: not read, no verdict). The lowest-delay reading stands for the batch.
    std::optional<Implausible> observe(const Batch& batch, int64_t real_ns, int64_t raw_ns);
    void reset();

  private:
    struct Point {
        int64_t raw_ns;  // the reading's time on CLOCK_MONOTONIC_RAW
        int64_t ref_ns;
        double err_ns;  // half the reading's delay plus its precision
    };
    struct Interval {
        double rate;  // host ns per RAW ns
        double uncertainty;
    };
    PlausibilityOptions options_;
    std::optional<Point> last_;
    std::vector<Interval> intervals_;  // oldest first; capacity reserved once
    std::vector<Interval> sorted_;     // scratch for the median
};

// Every gate in the order above; the first that refuses names the reason. A batch another
// gate refuses clears the host-rate gate's history.
class PlausibilityGates {
  public:
    explicit PlausibilityGates(const PlausibilityOptions& options = {})
        : options_(options), host_rate_(options) {}
    std::optional<Implausible> check(const Batch& batch, int64_t real_ns, int64_t raw_ns);
    const PlausibilityOptions& options() const { return options_; }

  private:
    PlausibilityOptions options_;
    HostRateGate host_rate_;
};

// "2026-01-05T12:34:56Z" (whole seconds, floor), for any int64 nanoseconds.
std::string utc_seconds_text(int64_t ns);

}  // namespace vmrefclock

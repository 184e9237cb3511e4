#include "filter/plausibility.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace vmrefclock {

namespace {

using i128 = __int128;
constexpr int64_t kNsPerSec = 1'000'000'000;

std::string format(const char* fmt, auto... args) {
    char buf[256];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
}

double as_double(i128 v) {
    return static_cast<double>(v);
}

}  // namespace

std::string Implausible::reason() const {
    return "implausible host time (" + gate + "): " + detail;
}

std::string utc_seconds_text(int64_t ns) {
    int64_t sec = ns / kNsPerSec;
    if (ns % kNsPerSec < 0) --sec;
    const time_t t = static_cast<time_t>(sec);
    tm parts{};
    if (gmtime_r(&t, &parts) == nullptr) return std::to_string(sec) + " s since 1970";
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return buf;
}

std::optional<Implausible> check_calendar(const Batch& batch, const PlausibilityOptions& options) {
    for (const Reading& r : batch.readings) {
        if (r.ref_ns >= options.earliest_ns && r.ref_ns < options.latest_ns) continue;
        return Implausible{"calendar", "the host's time reads " + utc_seconds_text(r.ref_ns) +
                                           ", outside " + utc_seconds_text(options.earliest_ns) +
                                           " .. " + utc_seconds_text(options.latest_ns)};
    }
    return std::nullopt;
}

std::optional<Implausible> check_counter_rate(const CounterRateCheck& check,
                                              const PlausibilityOptions& options) {
    if (!(check.measured_hz > 0) || !std::isfinite(check.measured_hz)) return std::nullopt;
    // 1 when the page's period and the guest's measurement agree.
    const double ratio = check.page_period_s * check.measured_hz;
    const double allowed =
        options.rate_bound_ppm * 1e-6 + std::max(check.measured_uncertainty, 0.0);
    if (std::isfinite(ratio) && std::abs(ratio - 1.0) <= allowed) return std::nullopt;
    const double page_hz = check.page_period_s > 0 ? 1.0 / check.page_period_s : INFINITY;
    return Implausible{
        "counter-rate",
        format("the page's counter period (%.6g s per tick) implies a %.6g Hz counter; this "
               "guest measures %.9g Hz (ratio %.6g, bound 1 +- %g ppm)",
               check.page_period_s, page_hz, check.measured_hz, ratio, options.rate_bound_ppm)};
}

std::optional<Implausible> check_advancing(const Batch& batch, const PlausibilityOptions& options) {
    if (batch.readings.size() < 2) return std::nullopt;
    const Reading& first = batch.readings.front();
    const Reading& last = batch.readings.back();
    // System time that certainly passed between the two host reads, and at most passed.
    const i128 lo = static_cast<i128>(last.sys_pre_ns) - first.sys_post_ns;
    const i128 hi = static_cast<i128>(last.sys_post_ns) - first.sys_pre_ns;
    if (hi < 0) return std::nullopt;  // the system clock went back mid-poll: no judgement
    const i128 host = static_cast<i128>(last.ref_ns) - first.ref_ns;
    // Rounding of the host's and the system's timestamps.
    const double slack = 2.0 * static_cast<double>(std::max<int64_t>(batch.precision_ns, 1)) + 2.0;
    if (as_double(host) < -slack) {
        return Implausible{"backwards",
                           format("the host's time went back %.0f ns within one poll while the "
                                  "system clock advanced %.0f ns",
                                  -as_double(host), as_double(hi))};
    }
    if (lo > 0 && as_double(host) < options.min_poll_rate * as_double(lo) - slack) {
        return Implausible{"frozen", format("the host's time advanced %.0f ns within one poll "
                                            "while the system clock advanced at least %.0f ns",
                                            as_double(host), as_double(lo))};
    }
    if (as_double(host) > options.max_poll_rate * as_double(hi) + slack) {
        return Implausible{"racing", format("the host's time advanced %.0f ns within one poll "
                                            "while the system clock advanced at most %.0f ns",
                                            as_double(host), as_double(hi))};
    }
    return std::nullopt;
}

HostRateGate::HostRateGate(const PlausibilityOptions& options) : options_(options) {
    const size_t n = static_cast<size_t>(std::max(options_.rate_intervals, 1)) + 1;
    intervals_.reserve(n);
    sorted_.reserve(n);
}

void HostRateGate::reset() {
    last_.reset();
    intervals_.clear();
}

std::optional<Implausible> HostRateGate::observe(const Batch& batch, int64_t real_ns,
                                                 int64_t raw_ns) {
    if (raw_ns == 0) return std::nullopt;
    const Reading* best = nullptr;
    for (const Reading& r : batch.readings) {
        if (r.sys_post_ns < r.sys_pre_ns) continue;
        if (best == nullptr || r.delay_ns() < best->delay_ns()) best = &r;
    }
    if (best == nullptr) return std::nullopt;
    // The reading's time on CLOCK_MONOTONIC_RAW: REALTIME and RAW move together over the
    // microseconds between the poll's clock reads and the reading.
    const i128 raw_at =
        static_cast<i128>(raw_ns) + (static_cast<i128>(best->sys_mid_ns()) - real_ns);
    if (raw_at > INT64_MAX || raw_at < INT64_MIN) return std::nullopt;
    const Point p{static_cast<int64_t>(raw_at), best->ref_ns,
                  static_cast<double>(best->delay_ns()) / 2.0 +
                      static_cast<double>(std::max<int64_t>(batch.precision_ns, 1))};
    const double span = last_ ? as_double(static_cast<i128>(p.raw_ns) - last_->raw_ns) : 0.0;
    if (!last_ || span <= 0) {
        last_ = p;  // the first point, or RAW went back (cannot): start over from here
    } else if (span >= 1'000'000) {  // closer points are kept for a longer interval
        const double rate = as_double(static_cast<i128>(p.ref_ns) - last_->ref_ns) / span;
        const double uncertainty = (p.err_ns + last_->err_ns) / span;
        // An interval read through a preempted reading says little: left out.
        if (uncertainty < options_.rate_bound_ppm * 1e-6 / 2) {
            intervals_.push_back({rate, uncertainty});
            while (static_cast<int>(intervals_.size()) > std::max(options_.rate_intervals, 1)) {
                intervals_.erase(intervals_.begin());
            }
        }
        last_ = p;
    }
    if (intervals_.empty()) return std::nullopt;

    std::vector<Interval>& sorted = sorted_;
    sorted.assign(intervals_.begin(), intervals_.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const Interval& a, const Interval& b) { return a.rate < b.rate; });
    const Interval& median = sorted[(sorted.size() - 1) / 2];
    const double allowed = options_.rate_bound_ppm * 1e-6 + median.uncertainty;
    if (std::abs(median.rate - 1.0) <= allowed) return std::nullopt;
    return Implausible{"host-rate", format("over the last %zu polls the host's time advanced at "
                                           "%.6g times the rate of the guest's "
                                           "CLOCK_MONOTONIC_RAW (bound 1 +- %g ppm)",
                                           sorted.size(), median.rate, options_.rate_bound_ppm)};
}

std::optional<Implausible> PlausibilityGates::check(const Batch& batch, int64_t real_ns,
                                                    int64_t raw_ns) {
    std::optional<Implausible> refused = check_calendar(batch, options_);
    if (!refused && batch.counter_rate) refused = check_counter_rate(*batch.counter_rate, options_);
    if (!refused) refused = check_advancing(batch, options_);
    if (refused) {
        // The rates of a clock that lies say nothing about the one that follows: a valid
        // page after a broken one is judged afresh, not by the median of the lies.
        host_rate_.reset();
        return refused;
    }
    return host_rate_.observe(batch, real_ns, raw_ns);
}

}  // namespace vmrefclock

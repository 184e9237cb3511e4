// The words for enum values and times of the status protocol; its JSON form is the
// field tables' (status.h, status_fields.h).
#include "ipc/status/status.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

namespace vmrefclock {

namespace {

// The word of an enum value whose words are listed in declaration order.
template <class Enum, size_t N>
std::string_view word(Enum value, const std::string_view (&words)[N], std::string_view other) {
    const auto index = static_cast<size_t>(value);
    return index < N ? words[index] : other;
}

}  // namespace

std::string_view to_string(DaemonState state) {
    return word(state, kDaemonStateWords, "unknown");
}

const std::vector<DaemonState>& all_daemon_states() {
    static const std::vector<DaemonState> states = {DaemonState::starting, DaemonState::ok,
                                                    DaemonState::holdoff,  DaemonState::degraded,
                                                    DaemonState::unusable, DaemonState::no_source};
    return states;
}

std::optional<DaemonState> daemon_state_from_string(std::string_view text) {
    for (DaemonState state : all_daemon_states()) {
        if (to_string(state) == text) return state;
    }
    return std::nullopt;
}

std::string_view to_string(ClockStatus status) {
    return word(status, kClockStatusWords, "unknown");
}

std::string_view to_string(Maintenance maintenance) {
    return word(maintenance, kMaintenanceWords, "none");
}

std::string leap_indicator_name(uint8_t leap_indicator) {
    // vmclock-abi.h VMCLOCK_LEAP_*: announced (pre), during (positive), after (post).
    switch (leap_indicator) {
        case 0:
            return "none";
        case 1:
            return "pre-positive";
        case 2:
            return "pre-negative";
        case 3:
            return "positive";
        case 4:
            return "post-positive";
        case 5:
            return "post-negative";
        default:
            return "invalid(" + std::to_string(leap_indicator) + ")";
    }
}

HostStatus host_status_from(const HostInfo& host) {
    HostStatus out;
    out.clock_status = std::string(to_string(host.clock_status));
    out.maintenance = std::string(to_string(host.maintenance));
    out.leap = leap_indicator_name(host.leap_indicator);
    out.time_maxerror_ns = host.time_maxerror_ns;
    out.disruption_marker = host.disruption_marker;
    out.vm_generation = host.vm_generation;
    return out;
}

std::string format_utc(int64_t realtime_ns) {
    // Floor division so times before 1970 still print the right second.
    int64_t sec = realtime_ns / 1'000'000'000;
    int64_t rem = realtime_ns % 1'000'000'000;
    if (rem < 0) {
        rem += 1'000'000'000;
        --sec;
    }
    time_t t = static_cast<time_t>(sec);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(rem / 1'000'000));
    return buf;
}

std::optional<int64_t> parse_utc(std::string_view text) {
    std::tm tm{};
    int millis = 0;
    int consumed = 0;
    std::string s(text);
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon,
                    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, &consumed) != 7 ||
        consumed != static_cast<int>(s.size())) {
        return std::nullopt;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
        tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60 ||
        millis < 0) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const int64_t sec = timegm(&tm);
    // int64 nanoseconds span 1677-2262: a valid time beyond saturates, as format_utc's
    // text of the extremes reads back.
    int64_t ns = 0;
    if (__builtin_mul_overflow(sec, int64_t{1'000'000'000}, &ns) ||
        __builtin_add_overflow(ns, int64_t{millis} * 1'000'000, &ns)) {
        return sec < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
    }
    return ns;
}

void from_json(const nlohmann::json& j, StatusSnapshot& v) {
    std::vector<std::string> not_reported;
    status_json::Decoder{&not_reported}.record(j, v, StatusPath{});
    v.not_reported = std::move(not_reported);
}

}  // namespace vmrefclock

// The status snapshot's JSON form and the words for enum values. Field names here are
// the wire protocol: vmrefclockctl, monitoring scripts and the integration tests read
// them, so they change only together with issue 5's list.
#include "ipc/status/status.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace vmrefclock {

namespace {

using nlohmann::json;

// nlohmann-json 3.11 has no std::optional support: absent values are JSON null.
template <typename T>
json optional_json(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
}

template <typename T>
void optional_from(const json& j, const char* key, std::optional<T>& out) {
    const json& v = j.at(key);
    if (v.is_null()) {
        out.reset();
    } else {
        out = v.get<T>();
    }
}

}  // namespace

std::string_view to_string(DaemonState state) {
    switch (state) {
        case DaemonState::starting:
            return "starting";
        case DaemonState::ok:
            return "ok";
        case DaemonState::holdoff:
            return "holdoff";
        case DaemonState::degraded:
            return "degraded";
        case DaemonState::unusable:
            return "unusable";
        case DaemonState::no_source:
            return "no-source";
    }
    return "unknown";
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
    switch (status) {
        case ClockStatus::unknown:
            return "unknown";
        case ClockStatus::initializing:
            return "initializing";
        case ClockStatus::synchronized:
            return "synchronized";
        case ClockStatus::freerunning:
            return "freerunning";
        case ClockStatus::unreliable:
            return "unreliable";
    }
    return "unknown";
}

std::string_view to_string(Maintenance maintenance) {
    switch (maintenance) {
        case Maintenance::none:
            return "none";
        case Maintenance::soon:
            return "soon";
        case Maintenance::imminent:
            return "imminent";
    }
    return "none";
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
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000 + int64_t{millis} * 1'000'000;
}

void to_json(json& j, const SourceStatus& v) {
    j = json{{"type", v.type}, {"path", v.path}, {"method", v.method}};
}

void from_json(const json& j, SourceStatus& v) {
    j.at("type").get_to(v.type);
    j.at("path").get_to(v.path);
    j.at("method").get_to(v.method);
}

void to_json(json& j, const DisruptionStatus& v) {
    j = json{{"count", v.count},
             {"last_time", v.last_time_ns ? json(format_utc(*v.last_time_ns)) : json(nullptr)},
             {"last_cause", optional_json(v.last_cause)}};
}

void from_json(const json& j, DisruptionStatus& v) {
    j.at("count").get_to(v.count);
    std::optional<std::string> last_time;
    optional_from(j, "last_time", last_time);
    v.last_time_ns = last_time ? parse_utc(*last_time) : std::nullopt;
    optional_from(j, "last_cause", v.last_cause);
}

void to_json(json& j, const HostStatus& v) {
    j = json{{"clock_status", v.clock_status},
             {"maintenance", v.maintenance},
             {"leap", v.leap},
             {"time_maxerror_ns", optional_json(v.time_maxerror_ns)},
             {"disruption_marker", v.disruption_marker},
             {"vm_generation", optional_json(v.vm_generation)}};
}

void from_json(const json& j, HostStatus& v) {
    j.at("clock_status").get_to(v.clock_status);
    j.at("maintenance").get_to(v.maintenance);
    j.at("leap").get_to(v.leap);
    optional_from(j, "time_maxerror_ns", v.time_maxerror_ns);
    j.at("disruption_marker").get_to(v.disruption_marker);
    optional_from(j, "vm_generation", v.vm_generation);
}

void to_json(json& j, const ChronyStatus& v) {
    j = json{{"socket", v.socket},
             {"connected", v.connected},
             {"last_error", optional_json(v.last_error)}};
}

void from_json(const json& j, ChronyStatus& v) {
    j.at("socket").get_to(v.socket);
    j.at("connected").get_to(v.connected);
    optional_from(j, "last_error", v.last_error);
}

void to_json(json& j, const StatusSnapshot& v) {
    // NaN/inf would serialize as null but then fail to parse back as a number.
    auto finite = [](const std::optional<double>& x) {
        return (x && std::isfinite(*x)) ? json(*x) : json(nullptr);
    };
    j = json{{"state", std::string(to_string(v.state))},
             {"reason", v.reason},
             {"source", v.source},
             {"offset_ns", finite(v.offset_ns)},
             {"frequency_ppm", finite(v.frequency_ppm)},
             {"stddev_ns", finite(v.stddev_ns)},
             {"error_bound_ns", finite(v.error_bound_ns)},
             {"delay_ns", optional_json(v.delay_ns)},
             {"samples_in_window", v.samples_in_window},
             {"polls", v.polls},
             {"samples_sent", v.samples_sent},
             {"samples_rejected", v.samples_rejected},
             {"last_sample_age_s", finite(v.last_sample_age_s)},
             {"disruptions", v.disruptions},
             {"host", v.host ? json(*v.host) : json(nullptr)},
             {"chrony", v.chrony},
             {"uptime_s", v.uptime_s},
             {"version", v.version}};
}

void from_json(const json& j, StatusSnapshot& v) {
    std::string state = j.at("state").get<std::string>();
    auto parsed = daemon_state_from_string(state);
    if (!parsed) {
        throw json::other_error::create(501, "unknown state \"" + state + "\"", &j);
    }
    v.state = *parsed;
    j.at("reason").get_to(v.reason);
    j.at("source").get_to(v.source);
    optional_from(j, "offset_ns", v.offset_ns);
    optional_from(j, "frequency_ppm", v.frequency_ppm);
    optional_from(j, "stddev_ns", v.stddev_ns);
    optional_from(j, "error_bound_ns", v.error_bound_ns);
    optional_from(j, "delay_ns", v.delay_ns);
    j.at("samples_in_window").get_to(v.samples_in_window);
    j.at("polls").get_to(v.polls);
    j.at("samples_sent").get_to(v.samples_sent);
    j.at("samples_rejected").get_to(v.samples_rejected);
    optional_from(j, "last_sample_age_s", v.last_sample_age_s);
    j.at("disruptions").get_to(v.disruptions);
    optional_from(j, "host", v.host);
    j.at("chrony").get_to(v.chrony);
    j.at("uptime_s").get_to(v.uptime_s);
    j.at("version").get_to(v.version);
}

void to_json(json& j, const SampleRecord& v) {
    j = json{{"time_ns", v.time_ns},
             {"offset_ns", v.offset_ns},
             {"delay_ns", v.delay_ns},
             {"error_ns", v.error_ns},
             {"sent", v.sent}};
}

void from_json(const json& j, SampleRecord& v) {
    j.at("time_ns").get_to(v.time_ns);
    j.at("offset_ns").get_to(v.offset_ns);
    j.at("delay_ns").get_to(v.delay_ns);
    j.at("error_ns").get_to(v.error_ns);
    j.at("sent").get_to(v.sent);
}

}  // namespace vmrefclock

// What vmrefclockd reports about itself: one snapshot type whose JSON field names are
// the status protocol (fixed by issue 5), and pure renderers for people (text) and
// for monitoring (Prometheus text exposition format 0.0.4). The text and the metrics
// are derived from the snapshot only, so the three views never disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "filter/types.h"

namespace vmrefclock {

enum class DaemonState { starting, ok, holdoff, degraded, unusable, no_source };

// "starting", "ok", "holdoff", "degraded", "unusable", "no-source".
std::string_view to_string(DaemonState state);
std::optional<DaemonState> daemon_state_from_string(std::string_view text);
// Every state, in declaration order: the Prometheus state set lists them all.
const std::vector<DaemonState>& all_daemon_states();

struct SourceStatus {
    std::string type;    // "vmclock", "ptp"
    std::string path;    // "/dev/vmclock0", "/dev/ptp0"
    std::string method;  // how it is read: "vmclock-page", "precise", "extended", ...
};

struct DisruptionStatus {
    uint64_t count = 0;
    // CLOCK_REALTIME ns of the last one; JSON carries it as RFC 3339 UTC text.
    std::optional<int64_t> last_time_ns;
    std::optional<std::string> last_cause;
};

// The host's view (vmclock page) as operators read it: enums as words.
struct HostStatus {
    std::string clock_status =
        "unknown";                     // unknown|initializing|synchronized|freerunning|unreliable
    std::string maintenance = "none";  // none|soon|imminent
    std::string leap =
        "none";  // none|pre-positive|pre-negative|positive|post-positive|post-negative
    std::optional<uint64_t> time_maxerror_ns;
    uint64_t disruption_marker = 0;
    std::optional<uint64_t> vm_generation;
};

// Words for the raw host fields, shared by the daemon (filling HostStatus) and tests.
std::string_view to_string(ClockStatus status);
std::string_view to_string(Maintenance maintenance);
std::string leap_indicator_name(uint8_t leap_indicator);
HostStatus host_status_from(const HostInfo& host);

struct ChronyStatus {
    std::string socket;
    bool connected = false;
    std::optional<std::string> last_error;
};

struct StatusSnapshot {
    DaemonState state = DaemonState::starting;
    std::string reason;  // one line: why the state is what it is
    SourceStatus source;
    // Absent (null) until the estimator has produced an estimate.
    std::optional<double> offset_ns;
    std::optional<double> frequency_ppm;
    std::optional<double> stddev_ns;
    std::optional<double> error_bound_ns;
    std::optional<int64_t> delay_ns;  // of the last sample
    int samples_in_window = 0;
    uint64_t polls = 0;
    uint64_t samples_sent = 0;
    uint64_t samples_rejected = 0;
    std::optional<double> last_sample_age_s;  // null before the first sample
    DisruptionStatus disruptions;
    std::optional<HostStatus> host;  // null when the source publishes no host page (PTP)
    ChronyStatus chrony;
    double uptime_s = 0;
    std::string version;
};

// One sample as the `samples` command lists it (newest last).
struct SampleRecord {
    int64_t time_ns = 0;
    double offset_ns = 0;
    int64_t delay_ns = 0;
    int64_t error_ns = 0;
    bool sent = false;  // false: rejected (hold-off, outlier, chrony not connected)
};

void to_json(nlohmann::json& j, const SourceStatus& v);
void from_json(const nlohmann::json& j, SourceStatus& v);
void to_json(nlohmann::json& j, const DisruptionStatus& v);
void from_json(const nlohmann::json& j, DisruptionStatus& v);
void to_json(nlohmann::json& j, const HostStatus& v);
void from_json(const nlohmann::json& j, HostStatus& v);
void to_json(nlohmann::json& j, const ChronyStatus& v);
void from_json(const nlohmann::json& j, ChronyStatus& v);
void to_json(nlohmann::json& j, const StatusSnapshot& v);
// Throws nlohmann::json::exception on missing fields or wrong types.
void from_json(const nlohmann::json& j, StatusSnapshot& v);
void to_json(nlohmann::json& j, const SampleRecord& v);
void from_json(const nlohmann::json& j, SampleRecord& v);

// RFC 3339 UTC with milliseconds ("2026-01-05T12:34:56.789Z") and back.
std::string format_utc(int64_t realtime_ns);
std::optional<int64_t> parse_utc(std::string_view text);

// A signed duration in the unit that keeps 3-4 significant digits: "+1.234 µs".
std::string format_offset(double ns);
// An unsigned duration the same way: "850 ns", "12.3 ms", "4.00 s".
std::string format_duration(double ns);

// One screen for people, the state first.
std::string render_text(const StatusSnapshot& status);
// Prometheus text exposition format 0.0.4, every metric prefixed `vmrefclock_`.
std::string render_prometheus(const StatusSnapshot& status);
// The `samples` listing for people: one line per sample, newest last.
std::string render_samples_text(const std::vector<SampleRecord>& samples);

}  // namespace vmrefclock

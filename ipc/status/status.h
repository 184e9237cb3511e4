// What vmrefclockd reports about itself: one snapshot type whose JSON field names are
// the status protocol (fixed by issue 5), and pure renderers for people (text) and
// for monitoring (Prometheus text exposition format 0.0.4). The text and the metrics
// are derived from the snapshot only, so the three views never disagree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "filter/engine_state.h"
#include "filter/sink.h"
#include "filter/types.h"
#include "ipc/status/status_fields.h"

namespace vmrefclock {

// Words for enum values, in declaration order: the wire form and the Prometheus state
// sets list them all.
inline constexpr std::string_view kDaemonStateWords[] = {"starting", "ok",       "holdoff",
                                                         "degraded", "unusable", "no-source"};
inline constexpr std::string_view kClockStatusWords[] = {"unknown", "initializing", "synchronized",
                                                         "freerunning", "unreliable"};
inline constexpr std::string_view kMaintenanceWords[] = {"none", "soon", "imminent"};

// "starting", "ok", "holdoff", "degraded", "unusable", "no-source".
std::string_view to_string(DaemonState state);
std::optional<DaemonState> daemon_state_from_string(std::string_view text);
inline std::optional<DaemonState> enum_from_string(std::type_identity<DaemonState>,
                                                   std::string_view text) {
    return daemon_state_from_string(text);
}
// Every state, in declaration order.
const std::vector<DaemonState>& all_daemon_states();

// Words for the raw host fields, shared by the daemon (filling HostStatus) and tests.
std::string_view to_string(ClockStatus status);
std::string_view to_string(Maintenance maintenance);
std::string leap_indicator_name(uint8_t leap_indicator);

// A signed duration in the unit that keeps 3-4 significant digits: "+1.234 µs".
std::string format_offset(double ns);
// An unsigned duration the same way: "850 ns", "12.3 ms", "4.00 s".
std::string format_duration(double ns);
// Days, hours, minutes: "1h 2m 3s", "2d 7h 33m".
std::string format_uptime(const double& seconds);

// The records and their fields. Adding a field: a member and its line in the table
// (an optional member, so that an older daemon's status shows it as absent, not as
// 0), then fill it in daemon/status_snapshot.cpp. The table gives it its JSON key, and
// with .gauge/.counter a metric, with .text a row of `vmrefclockctl status`.

struct SourceStatus {
    std::string type;
    std::string path;
    std::string method;
};
constexpr auto fields_of(std::type_identity<SourceStatus>) {
    using S = SourceStatus;
    return std::tuple{
        field("type", &S::type, Unit::none, "The source's kind: \"vmclock\", \"ptp\"."),
        field("path", &S::path, Unit::none, "Its device: \"/dev/vmclock0\", \"/dev/ptp0\"."),
        field("method", &S::method, Unit::none,
              "How it is read: \"vmclock-page\", \"precise\", \"extended\", ..."),
    };
}

struct DisruptionStatus {
    uint64_t count = 0;
    std::optional<int64_t> last_time_ns;  // CLOCK_REALTIME
    std::optional<std::string> last_cause;
};
constexpr auto fields_of(std::type_identity<DisruptionStatus>) {
    using S = DisruptionStatus;
    return std::tuple{
        field("count", &S::count, Unit::none,
              "Clock disruptions seen (migration, snapshot restore, step).")
            .counter("disruptions_total"),
        field("last_time", &S::last_time_ns, Unit::utc, "Time of the last disruption (Unix time).")
            .gauge("last_disruption_timestamp_seconds"),
        field("last_cause", &S::last_cause, Unit::none, "What the last disruption was."),
    };
}

// The host's view (vmclock page) as operators read it: enums as words.
struct HostStatus {
    std::string clock_status = "unknown";  // a kClockStatusWords word
    std::string maintenance = "none";      // a kMaintenanceWords word
    std::string leap =
        "none";  // none|pre-positive|pre-negative|positive|post-positive|post-negative
    std::optional<uint64_t> time_maxerror_ns;
    uint64_t disruption_marker = 0;
    std::optional<uint64_t> vm_generation;
};
constexpr auto fields_of(std::type_identity<HostStatus>) {
    using S = HostStatus;
    return std::tuple{
        field("clock_status", &S::clock_status, Unit::none,
              "Host clock status: 1 for the reported status.")
            .state_set("host_clock_status", "status", kClockStatusWords),
        field("maintenance", &S::maintenance, Unit::none,
              "Announced host maintenance: 1 for the current one.")
            .state_set("host_maintenance", "level", kMaintenanceWords),
        field("leap", &S::leap, Unit::none, "The host's leap second announcement."),
        field("time_maxerror_ns", &S::time_maxerror_ns, Unit::ns,
              "Host's maximum error of its clock.")
            .gauge("host_time_maxerror_seconds"),
        field("disruption_marker", &S::disruption_marker, Unit::none,
              "Host's disruption marker (changes on migration).")
            .gauge("host_disruption_marker"),
        field("vm_generation", &S::vm_generation, Unit::none,
              "VM generation counter (changes on snapshot restore).")
            .gauge("host_vm_generation"),
    };
}
HostStatus host_status_from(const HostInfo& host);

struct ChronyStatus {
    std::string socket;
    bool connected = false;
    std::optional<std::string> last_error;
};
constexpr auto fields_of(std::type_identity<ChronyStatus>) {
    using S = ChronyStatus;
    return std::tuple{
        field("socket", &S::socket, Unit::none, "chronyd's SOCK refclock socket."),
        field("connected", &S::connected, Unit::none,
              "1 when connected to chronyd's SOCK refclock socket.")
            .gauge("chrony_connected"),
        field("last_error", &S::last_error, Unit::none, "Why the last send or connect failed."),
    };
}

// Each sink as filter/sink.h reports it, every sink the same way.
constexpr auto fields_of(std::type_identity<SinkStatus>) {
    using S = SinkStatus;
    return std::tuple{
        field("name", &S::name, Unit::none, "The sink.").labels_list_metrics("sink"),
        field("target", &S::target, Unit::none, "Its socket or file.").text("at"),
        field("state", &S::state, Unit::none, "What it is doing.").text("state"),
        field("healthy", &S::healthy, Unit::none,
              "1 when the sink is connected (chrony) or writing (clockbound).")
            .gauge("sink_healthy"),
        field("last_error", &S::last_error, Unit::none, "Its last error.").text("last error"),
        field("sent", &S::sent, Unit::none, "Deliveries that reached the sink.")
            .counter("sink_sent_total")
            .text("sent"),
        field("dropped", &S::dropped, Unit::none,
              "Deliveries the sink dropped (chronyd's receive queue full).")
            .counter("sink_dropped_total")
            .text("dropped"),
    };
}

struct StatusSnapshot {
    DaemonState state = DaemonState::starting;
    std::string reason;
    SourceStatus source;
    std::optional<double> offset_ns;  // the estimate's values: absent until there is one
    std::optional<double> frequency_ppm;
    std::optional<double> stddev_ns;
    std::optional<double> error_bound_ns;
    std::optional<int64_t> delay_ns;
    int samples_in_window = 0;
    uint64_t polls = 0;
    uint64_t samples_sent = 0;
    uint64_t samples_rejected = 0;
    std::optional<double> last_sample_age_s;
    DisruptionStatus disruptions;
    std::optional<HostStatus> host;
    ChronyStatus chrony;
    std::vector<SinkStatus> sinks;
    std::optional<double> cpu_seconds;
    double uptime_s = 0;
    std::string version;
    // Not on the wire: the fields a decoded status lacked (an older daemon's), by path.
    std::vector<std::string> not_reported;
};
// In the order of the metrics.
constexpr auto fields_of(std::type_identity<StatusSnapshot>) {
    using S = StatusSnapshot;
    return std::tuple{
        field("state", &S::state, Unit::none,
              "Daemon state: 1 for the current state, 0 for the others.")
            .state_set("state", "state", kDaemonStateWords),
        field("reason", &S::reason, Unit::none, "One line: why the state is what it is."),
        field("offset_ns", &S::offset_ns, Unit::ns,
              "Estimated offset, reference minus system clock.")
            .gauge("offset_seconds"),
        field("frequency_ppm", &S::frequency_ppm, Unit::ppm,
              "Estimated frequency of the reference relative to the system clock.")
            .gauge("frequency_ppm"),
        field("stddev_ns", &S::stddev_ns, Unit::ns,
              "Residual standard deviation of the estimator's fit.")
            .gauge("stddev_seconds"),
        field("error_bound_ns", &S::error_bound_ns, Unit::ns,
              "Bound on the error of the estimated offset.")
            .gauge("error_bound_seconds"),
        field("delay_ns", &S::delay_ns, Unit::ns, "Read delay of the last sample.")
            .gauge("delay_seconds"),
        field("samples_in_window", &S::samples_in_window, Unit::none,
              "Samples in the estimator's window.")
            .gauge("samples_in_window"),
        field("last_sample_age_s", &S::last_sample_age_s, Unit::s, "Time since the last sample.")
            .gauge("last_sample_age_seconds"),
        field("polls", &S::polls, Unit::none, "Polls of the source.").counter("polls_total"),
        field("samples_sent", &S::samples_sent, Unit::none, "Samples sent to chrony.")
            .counter("samples_sent_total"),
        field("samples_rejected", &S::samples_rejected, Unit::none, "Samples not sent to chrony.")
            .counter("samples_rejected_total"),
        field("disruptions", &S::disruptions, Unit::none, "Clock disruptions."),
        field("host", &S::host, Unit::none,
              "The host's view; null when the source publishes no host page (PTP)."),
        field("chrony", &S::chrony, Unit::none, "The chrony SOCK refclock sink."),
        field("sinks", &S::sinks, Unit::none, "Every sink, the same way.").text("sink"),
        field("cpu_seconds", &S::cpu_seconds, Unit::s,
              "CPU time the daemon has used, user and system.")
            .counter("cpu_seconds_total")
            .text("cpu:"),
        field("uptime_s", &S::uptime_s, Unit::s, "Seconds since the daemon started.")
            .gauge("uptime_seconds")
            .text("uptime:", format_uptime),
        field("source", &S::source, Unit::none, "The time source in use.").info("source_info"),
        field("version", &S::version, Unit::none, "vmrefclockd build information.")
            .info("build_info", "version")
            .text("version:"),
    };
}
// The generic decoder, and the list of the fields the JSON lacked.
void from_json(const nlohmann::json& j, StatusSnapshot& v);

// One sample as the `samples` command lists it (newest last).
struct SampleRecord {
    int64_t time_ns = 0;
    double offset_ns = 0;
    int64_t delay_ns = 0;
    int64_t error_ns = 0;
    bool sent = false;  // false: rejected (hold-off, outlier, chrony not connected)
};
constexpr auto fields_of(std::type_identity<SampleRecord>) {
    using S = SampleRecord;
    return std::tuple{
        field("time_ns", &S::time_ns, Unit::time_ns, "The sample's system time."),
        field("offset_ns", &S::offset_ns, Unit::ns, "Reference minus system at that time."),
        field("delay_ns", &S::delay_ns, Unit::ns, "Read delay."),
        field("error_ns", &S::error_ns, Unit::ns, "Error bound sent with it."),
        field("sent", &S::sent, Unit::none, "Sent to chrony (false: held back)."),
    };
}

// One screen for people, the state first.
std::string render_text(const StatusSnapshot& status);
// Prometheus text exposition format 0.0.4, every metric prefixed `vmrefclock_`.
std::string render_prometheus(const StatusSnapshot& status);
// The `samples` listing for people: one line per sample, newest last.
std::string render_samples_text(const std::vector<SampleRecord>& samples);

}  // namespace vmrefclock

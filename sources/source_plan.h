// From the configuration to the opened sources: the time source, an optional vmclock
// page beside a PHC for its disruption signal, and whether disruptions must be found in
// the data instead. One plan serves the daemon, `--list-sources`, `vmrefclockctl
// sources` and `doctor`, so they never disagree about which source the config names.
// What each kind does is its entry in sources/registry.h.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "config/config.h"
#include "config/source_kind.h"
#include "filter/data_disruption_detector.h"
#include "filter/step_guard.h"
#include "sources/discovery.h"
#include "sources/source.h"

namespace vmrefclock {

struct SourceSet {
    SourceKind type = SourceKind::automatic;  // ptp or vmclock once opened
    std::string path;
    std::unique_ptr<Source> time;
    std::unique_ptr<HostSignal> signal;  // a vmclock page beside a PHC
    // A PHC with no vmclock page: steps, suspends and frequency jumps are found in the data.
    bool data_detectors = false;
    std::string disruption_signal;  // for the log: where disruptions are noticed
};

// Which source the configuration leads to on this machine, and why.
struct SourcePlan {
    DiscoveryResult found;  // what discovery saw (every report lists it)
    // `[source] type = "vmclock", path = "..."` when the config names the source; "" when
    // discovery chose it.
    std::string configured;
    std::optional<SourceKind> type;  // ptp, vmclock; none when nothing qualifies
    std::string path;
    std::string problem;  // why the named source cannot be used now ("" = it can)
    std::string reason;   // why this source (or why none)
    // Beside a PHC: the vmclock page read for its disruption marker; "" = the data
    // detectors. For a vmclock time source, the same page.
    std::string signal_path;
    std::string signal_problem;  // a configured page that exists but cannot be read

    bool usable() const { return type && problem.empty() && signal_problem.empty(); }
    // "vmclock /dev/vmclock0" or "none".
    std::string time_source_text() const;
    std::string disruption_signal_text() const;
};

DiscoveryResult discover(const Config& config);
SourcePlan plan_sources(const Config& config);
// What was found, the source the config leads to, the disruption signal and why.
std::string format_source_plan(const SourcePlan& plan);
// `vmrefclockd --list-sources`: format_source_plan(plan_sources(config)).
std::string list_sources(const Config& config);
// Opens what the plan names; the error names the device and the cause.
Result<SourceSet> open_sources(const Config& config);
DataDisruptionOptions detector_options(const DisruptionConfig& config);
StepGuardOptions step_guard_options(const DisruptionConfig& config);

// Every clock device the plan's discovery saw, and the plan's own device, that exists.
std::set<std::string> present_devices(const SourcePlan& plan);

// The exit status that asks systemd to start the service again (the unit has
// RestartForceExitStatus= and SuccessExitStatus= for it): EX_TEMPFAIL.
inline constexpr int kRestartExitStatus = 75;

// systemd resolves a unit's DeviceAllow= when it starts: a clock device that appeared
// later is refused by the unit's device cgroup (EPERM, whatever its file mode). True
// when opening `path` failed that way and `path` was not there at start: only a restart
// of the service lets the daemon reach it.
bool device_appeared_after_start(const Error& error, const std::string& path,
                                 const std::set<std::string>& present_at_start);

}  // namespace vmrefclock

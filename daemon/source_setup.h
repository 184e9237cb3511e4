// From the configuration to the opened sources: the time source, an optional vmclock
// page beside a PHC for its disruption signal, and whether disruptions must be found in
// the data instead.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "filter/data_disruption_detector.h"
#include "filter/step_guard.h"
#include "sources/discovery.h"
#include "sources/source.h"

namespace vmrefclock {

struct SourceSet {
    std::string type;  // "vmclock" or "ptp", as the status reports it
    std::string path;
    std::unique_ptr<Source> time;
    std::unique_ptr<HostSignal> signal;  // a vmclock page beside a PHC
    // A PHC with no vmclock page: steps, suspends and frequency jumps are found in the data.
    bool data_detectors = false;
    std::string disruption_signal;  // for the log: where disruptions are noticed
};

DiscoveryResult discover(const Config& config);
// The device an explicit [source] type reads, an empty path resolved as open_sources
// does for vmclock (/dev/vmclock0); "" when discovery decides (type auto, or ptp with
// no path).
std::string configured_device(const Config& config);
// `vmrefclockd --list-sources`: what was found, what would be used, and why.
std::string list_sources(const Config& config);
// Opens what the config asks for; the error names the device and the cause.
Result<SourceSet> open_sources(const Config& config);
DataDisruptionOptions detector_options(const DisruptionConfig& config);
StepGuardOptions step_guard_options(const DisruptionConfig& config);

}  // namespace vmrefclock

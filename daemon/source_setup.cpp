#include "daemon/source_setup.h"

#include <cerrno>

#include "sources/ptp/ptp_device.h"
#include "sources/ptp/ptp_source.h"
#include "sources/vmclock/vmclock_source.h"

namespace vmrefclock {

namespace {

constexpr const char* kStandardVmclock = "/dev/vmclock0";

Result<std::unique_ptr<Source>> open_ptp(const Config& config, const std::string& path) {
    auto method = parse_ptp_method(config.source.method);
    if (!method) return make_error("unknown PHC method \"" + config.source.method + "\"");
    PtpSourceOptions options;
    options.path = path;
    options.clock_name = phc_clock_name(config.source.sysfs_root, path);
    options.method = *method;
    auto source = PtpSource::open(make_system_ptp_device_io(), options);
    if (!source) return source.error();
    return std::unique_ptr<Source>(std::move(*source));
}

Result<std::unique_ptr<Source>> open_vmclock(const std::string& path) {
    auto source = VmclockSource::open(path);
    if (!source) return source.error();
    return std::unique_ptr<Source>(std::move(*source));
}

// A PHC's companion: the vmclock page for its disruption marker, when there is one.
Status add_signal(const Config& config, SourceSet& set) {
    const std::string& path = config.disruption.vmclock;
    if (!path.empty()) {
        auto signal = VmclockSignal::open(path);
        if (signal) {
            set.signal = std::move(*signal);
            set.disruption_signal =
                set.signal->describe() + " (disruption marker), and the data detectors";
            return Ok{};
        }
        // A configured page that exists but is broken is a setup error; an absent one is
        // simply a host without vmclock.
        if (signal.error().code != ENOENT) return signal.error();
    }
    set.data_detectors = true;
    set.disruption_signal = "data detectors (step, suspend, frequency)";
    return Ok{};
}

}  // namespace

DiscoveryResult discover(const Config& config) {
    DiscoveryOptions options;
    options.sysfs_root = config.source.sysfs_root;
    options.dev_root = config.source.dev_root;
    options.allowed_phcs = config.source.allow_phc;
    options.vmclock_path = config.disruption.vmclock.empty() ? std::string(kStandardVmclock)
                                                             : config.disruption.vmclock;
    options.use_vmclock = true;
    options.probe_vmclock = probe_vmclock;
    return discover_sources(options);
}

std::string configured_device(const Config& config) {
    if (config.source.type == "vmclock") {
        return config.source.path.empty() ? kStandardVmclock : config.source.path;
    }
    return config.source.type == "ptp" ? config.source.path : "";
}

std::string list_sources(const Config& config) {
    return format_discovery(discover(config));
}

Result<SourceSet> open_sources(const Config& config) {
    SourceSet set;
    const std::string& type = config.source.type;
    if (type == "vmclock") {
        set.type = "vmclock";
        set.path = configured_device(config);
        auto time = open_vmclock(set.path);
        if (!time) return time.error();
        set.time = std::move(*time);
        set.disruption_signal = "the same vmclock page (disruption marker), and the data detectors";
        return set;
    }
    if (type == "ptp") {
        std::string path = config.source.path;
        if (path.empty()) {
            DiscoveryResult found = discover(config);
            if (found.time_source != TimeSourceKind::phc) {
                return make_error("no usable PTP clock: " + found.reason);
            }
            path = found.time_source_path;
        }
        set.type = "ptp";
        set.path = path;
        auto time = open_ptp(config, path);
        if (!time) return time.error();
        set.time = std::move(*time);
        if (Status s = add_signal(config, set); !s) return s.error();
        return set;
    }
    // auto
    DiscoveryResult found = discover(config);
    switch (found.time_source) {
        case TimeSourceKind::phc: {
            set.type = "ptp";
            set.path = found.time_source_path;
            auto time = open_ptp(config, found.time_source_path);
            if (!time) return time.error();
            set.time = std::move(*time);
            if (Status s = add_signal(config, set); !s) return s.error();
            return set;
        }
        case TimeSourceKind::vmclock_page: {
            set.type = "vmclock";
            set.path = found.vmclock_path;
            auto time = open_vmclock(found.vmclock_path);
            if (!time) return time.error();
            set.time = std::move(*time);
            set.disruption_signal =
                "the same vmclock page (disruption marker), and the data detectors";
            return set;
        }
        case TimeSourceKind::none:
            break;
    }
    return make_error("no time source found: " + found.reason +
                      " (vmrefclockd --list-sources shows what was looked at)");
}

DataDisruptionOptions detector_options(const DisruptionConfig& config) {
    DataDisruptionOptions options;
    options.step_enabled = config.step;
    options.step.floor_ns = static_cast<int64_t>(config.step_floor_us * 1e3);
    options.step.sigma_factor = config.step_sigma;
    options.suspend_enabled = config.suspend;
    options.suspend.threshold_ns = static_cast<int64_t>(config.suspend_threshold_ms * 1e6);
    options.frequency_enabled = config.frequency;
    options.frequency.bound_ppm = config.frequency_bound_ppm;
    return options;
}

StepGuardOptions step_guard_options(const DisruptionConfig& config) {
    StepGuardOptions options;
    options.probation_ns = static_cast<int64_t>(config.step_probation_s * 1e9);
    return options;
}

}  // namespace vmrefclock

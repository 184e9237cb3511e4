#include "daemon/source_setup.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "sources/ptp/ptp_device.h"
#include "sources/ptp/ptp_source.h"
#include "sources/vmclock/vmclock_source.h"

namespace vmrefclock {

namespace {

constexpr const char* kStandardVmclock = "/dev/vmclock0";
constexpr const char* kDataDetectors = "data detectors (step, suspend, frequency)";

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

std::string quoted(const std::string& s) {
    return "\"" + s + "\"";
}

// A PHC's companion: the configured vmclock page, when there is one.
void plan_signal(const Config& config, SourcePlan& plan) {
    const std::string& page = config.disruption.vmclock;
    if (page.empty()) return;
    VmclockPageProbe probe = probe_vmclock(page);
    if (!probe.exists) return;  // a host without vmclock: the data detectors
    plan.signal_path = page;
    // A configured page that exists but is broken is a setup error.
    if (!probe.error.empty()) plan.signal_problem = "vmclock page " + page + ": " + probe.error;
}

void plan_configured_vmclock(const Config& config, SourcePlan& plan) {
    plan.type = "vmclock";
    plan.path = config.source.path.empty() ? kStandardVmclock : config.source.path;
    plan.signal_path = plan.path;
    plan.configured = "[source] type = \"vmclock\"" +
                      (config.source.path.empty() ? std::string(" (path: the standard page)")
                                                  : ", path = " + quoted(config.source.path));
    VmclockPageProbe probe = probe_vmclock(plan.path);
    if (!probe.exists) {
        plan.problem = plan.path + " does not exist";
    } else if (!probe.error.empty()) {
        plan.problem = probe.error;
    } else if (probe.marker_only) {
        plan.problem = "the page is marker-only (no time in it)";
    }
    plan.reason = "the configuration names this page";
}

void plan_configured_ptp(const Config& config, SourcePlan& plan) {
    plan.type = "ptp";
    plan.path = config.source.path;
    plan.configured = "[source] type = \"ptp\", path = " + quoted(config.source.path);
    struct stat st {};
    if (stat(plan.path.c_str(), &st) != 0) {
        plan.problem = plan.path + ": " + std::strerror(errno);
    } else if (!S_ISCHR(st.st_mode)) {
        plan.problem = plan.path + " is not a character device";
    }
    plan.reason = "the configuration names this PHC";
    plan_signal(config, plan);
}

// Discovery's choice, limited to PHCs for type = "ptp".
void plan_discovered(const Config& config, SourcePlan& plan) {
    const DiscoveryResult& found = plan.found;
    const bool ptp_only = config.source.type == "ptp";
    if (ptp_only) plan.configured = "[source] type = \"ptp\" (path: the best PHC found)";
    plan.reason = found.reason;
    if (found.time_source == TimeSourceKind::phc) {
        plan.type = "ptp";
        plan.path = found.time_source_path;
        // Discovery looked for a page beside the PHC; the daemon reads the one the
        // config names, if any.
        plan.reason = found.reason.substr(0, found.reason.find(';'));
        plan_signal(config, plan);
        if (!plan.signal_path.empty()) {
            plan.reason += "; the vmclock page beside it signals disruptions";
        } else {
            plan.reason += config.disruption.vmclock.empty() ? "; [disruption] vmclock = \"\": "
                                                             : "; no vmclock page: ";
            plan.reason +=
                "disruptions are detected from the data (step, suspend, frequency "
                "detectors)";
        }
    } else if (found.time_source == TimeSourceKind::vmclock_page && !ptp_only) {
        plan.type = "vmclock";
        plan.path = found.time_source_path;
        plan.signal_path = plan.path;
    } else if (ptp_only) {
        plan.reason = "no usable PTP clock: " + found.reason;
    }
}

}  // namespace

std::string SourcePlan::time_source_text() const {
    if (type.empty()) return "none";
    std::string text = type + " " + path;
    if (type == "ptp" && found.chosen() && found.chosen()->device_path == path) {
        text += " (" + found.chosen()->clock_name + ")";
    }
    return text;
}

std::string SourcePlan::disruption_signal_text() const {
    if (type.empty()) return "none";
    if (type == "vmclock") return "the same vmclock page";
    return signal_path.empty() ? kDataDetectors : "vmclock page " + signal_path;
}

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

SourcePlan plan_sources(const Config& config) {
    SourcePlan plan;
    plan.found = discover(config);
    if (config.source.type == "vmclock") {
        plan_configured_vmclock(config, plan);
    } else if (config.source.type == "ptp" && !config.source.path.empty()) {
        plan_configured_ptp(config, plan);
    } else {
        plan_discovered(config, plan);
    }
    // Discovery's mark goes where the plan's PHC is, not where discovery would have gone.
    plan.found.chosen_phc = -1;
    for (size_t i = 0; i < plan.found.phcs.size(); ++i) {
        if (plan.type == "ptp" && plan.found.phcs[i].device_path == plan.path) {
            plan.found.chosen_phc = static_cast<int>(i);
        }
    }
    return plan;
}

std::string format_source_plan(const SourcePlan& plan) {
    std::ostringstream out;
    out << format_discovery_found(plan.found);
    if (!plan.configured.empty()) out << "configured: " << plan.configured << "\n";
    out << "time source: " << plan.time_source_text();
    if (!plan.problem.empty()) out << " (not usable now: " << plan.problem << ")";
    out << "\n";
    if (!plan.type.empty()) {
        out << "disruption signal: " << plan.disruption_signal_text();
        if (!plan.signal_problem.empty()) out << " (not usable: " << plan.signal_problem << ")";
        out << "\n";
    }
    out << "reason: " << plan.reason << "\n";
    return out.str();
}

std::string list_sources(const Config& config) {
    return format_source_plan(plan_sources(config));
}

Result<SourceSet> open_sources(const Config& config) {
    const SourcePlan plan = plan_sources(config);
    if (plan.type.empty()) {
        return make_error("no time source found: " + plan.reason +
                          " (vmrefclockd --list-sources shows what was looked at)");
    }
    SourceSet set;
    set.type = plan.type;
    set.path = plan.path;
    if (plan.type == "vmclock") {
        auto time = open_vmclock(plan.path);
        if (!time) return time.error();
        set.time = std::move(*time);
        set.disruption_signal = "the same vmclock page (disruption marker), and the data detectors";
        return set;
    }
    auto time = open_ptp(config, plan.path);
    if (!time) return time.error();
    set.time = std::move(*time);
    if (!plan.signal_problem.empty()) return make_error(plan.signal_problem);
    if (!plan.signal_path.empty()) {
        auto signal = VmclockSignal::open(plan.signal_path);
        if (!signal) return signal.error();
        set.signal = std::move(*signal);
        set.disruption_signal =
            set.signal->describe() + " (disruption marker), and the data detectors";
    } else {
        set.data_detectors = true;
        set.disruption_signal = kDataDetectors;
    }
    return set;
}

std::set<std::string> present_devices(const SourcePlan& plan) {
    std::set<std::string> out;
    for (const PhcCandidate& c : plan.found.phcs) {
        if (c.device_exists) out.insert(c.device_path);
    }
    if (plan.found.vmclock.exists) out.insert(plan.found.vmclock_path);
    struct stat st {};
    if (!plan.path.empty() && stat(plan.path.c_str(), &st) == 0) out.insert(plan.path);
    return out;
}

bool device_appeared_after_start(const Error& error, const std::string& path,
                                 const std::set<std::string>& present_at_start) {
    return error.code == EPERM && !path.empty() && present_at_start.count(path) == 0;
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

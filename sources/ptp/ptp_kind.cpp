// The "ptp" source kind: a PHC (/dev/ptpN), named in the config or found by discovery,
// with the configured vmclock page beside it, or the data detectors, for disruptions.
#include <sys/stat.h>

#include <cerrno>

#include "sources/ptp/ptp_device.h"
#include "sources/ptp/ptp_source.h"
#include "sources/registry.h"
#include "sources/vmclock/vmclock_source.h"

namespace vmrefclock {

namespace {

constexpr const char* kDataDetectors = "data detectors (step, suspend, frequency)";

// Discovery's mark on the PHC the plan uses.
void mark_chosen_phc(SourcePlan& plan) {
    for (size_t i = 0; i < plan.found.phcs.size(); ++i) {
        if (plan.found.phcs[i].device_path == plan.path) {
            plan.found.chosen_phc = static_cast<int>(i);
        }
    }
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

bool plan_discovered(const Config& config, SourcePlan& plan) {
    const DiscoveryResult& found = plan.found;
    if (found.time_source != TimeSourceKind::phc) return false;
    plan.type = SourceKind::ptp;
    plan.path = found.time_source_path;
    // Discovery looked for a page beside the PHC; the daemon reads the one the config
    // names, if any.
    plan.reason = found.reason.substr(0, found.reason.find(';'));
    plan_signal(config, plan);
    if (!plan.signal_path.empty()) {
        plan.reason += "; the vmclock page beside it signals disruptions";
    } else {
        plan.reason += config.disruption.vmclock.empty() ? "; [disruption] vmclock = \"\": "
                                                         : "; no vmclock page: ";
        plan.reason +=
            "disruptions are detected from the data (step, suspend, frequency detectors)";
    }
    mark_chosen_phc(plan);
    return true;
}

void plan_configured(const Config& config, SourcePlan& plan) {
    if (config.source.path.empty()) {
        // The best PHC discovery finds, never a vmclock page.
        plan.configured = "[source] type = \"ptp\" (path: the best PHC found)";
        plan.reason = plan.found.reason;
        if (!plan_discovered(config, plan))
            plan.reason = "no usable PTP clock: " + plan.found.reason;
        return;
    }
    plan.type = SourceKind::ptp;
    plan.path = config.source.path;
    plan.configured = "[source] type = \"ptp\", path = \"" + config.source.path + "\"";
    struct stat st {};
    if (stat(plan.path.c_str(), &st) != 0) {
        plan.problem = errno_error(plan.path, errno).message;
    } else if (!S_ISCHR(st.st_mode)) {
        plan.problem = plan.path + " is not a character device";
    }
    plan.reason = "the configuration names this PHC";
    plan_signal(config, plan);
    mark_chosen_phc(plan);
}

Status open(const Config& config, const SourcePlan& plan, SourceSet& set) {
    auto method = parse_ptp_method(config.source.method);
    if (!method) return make_error("unknown PHC method \"" + config.source.method + "\"");
    PtpSourceOptions options;
    options.path = plan.path;
    options.clock_name = phc_clock_name(config.source.sysfs_root, plan.path);
    options.method = *method;
    auto time = PtpSource::open(make_system_ptp_device_io(), options);
    if (!time) return time.error();
    set.time = std::move(*time);
    if (!plan.signal_problem.empty()) return make_error(plan.signal_problem);
    if (plan.signal_path.empty()) {
        set.data_detectors = true;
        set.disruption_signal = kDataDetectors;
        return Ok{};
    }
    auto signal = VmclockSignal::open(plan.signal_path);
    if (!signal) return signal.error();
    set.signal = std::move(*signal);
    set.disruption_signal = set.signal->describe() + " (disruption marker), and the data detectors";
    return Ok{};
}

std::string describe(const SourcePlan& plan) {
    std::string text = kind_and_path(plan);
    const PhcCandidate* chosen = plan.found.chosen();
    if (chosen && chosen->device_path == plan.path) text += " (" + chosen->clock_name + ")";
    return text;
}

std::string disruption_signal(const SourcePlan& plan) {
    return plan.signal_path.empty() ? kDataDetectors : "vmclock page " + plan.signal_path;
}

}  // namespace

extern const SourceKindEntry kPtpKind;
const SourceKindEntry kPtpKind{
    SourceKind::ptp,
    plan_configured,
    plan_discovered,
    open,
    describe,
    disruption_signal,
    "load the driver (modprobe ptp_kvm) or set [source] path",
};

}  // namespace vmrefclock

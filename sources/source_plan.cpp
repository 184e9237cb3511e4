#include "sources/source_plan.h"

#include <sys/stat.h>

#include <cerrno>
#include <sstream>

#include "sources/registry.h"
#include "sources/vmclock/vmclock_source.h"

namespace vmrefclock {

namespace {

constexpr const char* kStandardVmclock = "/dev/vmclock0";

}  // namespace

std::string SourcePlan::time_source_text() const {
    if (!type) return "none";
    return source_kind_entry(*type).describe(*this);
}

std::string SourcePlan::disruption_signal_text() const {
    if (!type) return "none";
    return source_kind_entry(*type).disruption_signal(*this);
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
    // Discovery's mark goes where the plan's PHC is, not where discovery would have
    // gone: the kind that takes a PHC marks it.
    plan.found.chosen_phc = -1;
    source_kind_entry(config.source.type).plan_configured(config, plan);
    return plan;
}

std::string format_source_plan(const SourcePlan& plan) {
    std::ostringstream out;
    out << format_discovery_found(plan.found);
    if (!plan.configured.empty()) out << "configured: " << plan.configured << "\n";
    out << "time source: " << plan.time_source_text();
    if (!plan.problem.empty()) out << " (not usable now: " << plan.problem << ")";
    out << "\n";
    if (plan.type) {
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
    if (!plan.type) {
        return make_error("no time source found: " + plan.reason +
                          " (vmrefclockd --list-sources shows what was looked at)");
    }
    SourceSet set;
    set.type = *plan.type;
    set.path = plan.path;
    if (Status opened = source_kind_entry(*plan.type).open(config, plan, set); !opened) {
        return opened.error();
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

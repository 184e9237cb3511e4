// The "vmclock" source kind: a full vmclock page (/dev/vmclock0) gives the time and,
// being the same page, the disruption signal.
#include "sources/registry.h"
#include "sources/vmclock/vmclock_source.h"

namespace vmrefclock {

namespace {

constexpr const char* kStandardVmclock = "/dev/vmclock0";

void plan_configured(const Config& config, SourcePlan& plan) {
    plan.type = SourceKind::vmclock;
    plan.path = config.source.path.empty() ? kStandardVmclock : config.source.path;
    plan.signal_path = plan.path;
    plan.configured = "[source] type = \"vmclock\"" +
                      (config.source.path.empty() ? std::string(" (path: the standard page)")
                                                  : ", path = \"" + config.source.path + "\"");
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

bool plan_discovered(const Config&, SourcePlan& plan) {
    if (plan.found.time_source != TimeSourceKind::vmclock_page) return false;
    plan.type = SourceKind::vmclock;
    plan.path = plan.found.time_source_path;
    plan.signal_path = plan.path;
    return true;
}

Status open(const Config&, const SourcePlan& plan, SourceSet& set) {
    auto time = VmclockSource::open(plan.path);
    if (!time) return time.error();
    set.time = std::move(*time);
    set.disruption_signal = "the same vmclock page (disruption marker), and the data detectors";
    return Ok{};
}

}  // namespace

extern const SourceKindEntry kVmclockKind;
const SourceKindEntry kVmclockKind{
    SourceKind::vmclock,
    plan_configured,
    plan_discovered,
    open,
    kind_and_path,
    [](const SourcePlan&) { return std::string("the same vmclock page"); },
    "vmclock needs Linux 6.13+ with the ptp_vmclock module (modprobe ptp_vmclock) and a "
    "hypervisor that offers the device",
};

}  // namespace vmrefclock

#include "sources/registry.h"

namespace vmrefclock {

// Each kind's entry lives beside its source (sources/<kind>/<kind>_kind.cpp).
extern const SourceKindEntry kPtpKind;
extern const SourceKindEntry kVmclockKind;

namespace {

// "auto": the first kind, in the table's order, that takes discovery's choice.
void plan_automatic(const Config& config, SourcePlan& plan) {
    plan.reason = plan.found.reason;
    for (const SourceKindEntry* entry : source_kinds()) {
        if (entry->plan_discovered && entry->plan_discovered(config, plan)) return;
    }
}

const SourceKindEntry kAutomaticKind{
    SourceKind::automatic,
    plan_automatic,
    nullptr,
    nullptr,
    kind_and_path,
    [](const SourcePlan&) { return std::string("none"); },
    "load ptp_kvm or ptp_vmclock (modprobe), or name a PHC in the config; vmrefclockctl "
    "sources shows what was found",
};

// Discovery's order of preference after "auto": a PHC before a full vmclock page.
const SourceKindEntry* const kTable[] = {&kAutomaticKind, &kPtpKind, &kVmclockKind};

}  // namespace

std::span<const SourceKindEntry* const> source_kinds() {
    return kTable;
}

const SourceKindEntry& source_kind_entry(SourceKind kind) {
    for (const SourceKindEntry* entry : kTable) {
        if (entry->kind == kind) return *entry;
    }
    // Unreachable: every SourceKind has an entry (sources_registry_test checks it).
    return kAutomaticKind;
}

std::string kind_and_path(const SourcePlan& plan) {
    return std::string(plan.type ? source_kind_name(*plan.type) : "none") + " " + plan.path;
}

}  // namespace vmrefclock

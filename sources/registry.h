// The registry of source kinds: one entry per kind says how `[source] type = <name>`
// becomes a plan, how the kind takes discovery's choice for "auto", how it is opened
// and how it is described. source_plan.cpp, the daemon, `--list-sources`,
// `vmrefclockctl sources` and `doctor` only go through these entries.
//
// Adding a kind: its value and name in config/source_kind.h, its entry (in its own file,
// e.g. sources/ptp/ptp_kind.cpp) and one line in registry.cpp's table.
#pragma once

#include <span>
#include <string>

#include "config/config.h"
#include "config/source_kind.h"
#include "sources/source_plan.h"

namespace vmrefclock {

struct SourceKindEntry {
    SourceKind kind;
    // `[source] type = <name>`: fills plan.path, .configured, .problem, .reason and the
    // disruption signal from the config (and plan.found, discovery's view).
    void (*plan_configured)(const Config& config, SourcePlan& plan);
    // For "auto": takes discovery's choice (plan.found) when it is of this kind, filling
    // the plan as plan_configured does; false leaves the plan alone. Null: never chosen.
    bool (*plan_discovered)(const Config& config, SourcePlan& plan);
    // Opens what the plan names into `set` (time source, signal, disruption_signal).
    // Null for a kind that is never a source itself ("auto").
    Status (*open)(const Config& config, const SourcePlan& plan, SourceSet& set);
    // The time source line: "ptp /dev/ptp0 (KVM virtual PTP)".
    std::string (*describe)(const SourcePlan& plan);
    // Where disruptions are noticed with this source: "the same vmclock page".
    std::string (*disruption_signal)(const SourcePlan& plan);
    // doctor's fix when the source is missing or unreadable.
    const char* missing_hint;
};

// Every kind, "auto" first, then in discovery's order of preference.
std::span<const SourceKindEntry* const> source_kinds();
const SourceKindEntry& source_kind_entry(SourceKind kind);

// "<name> <path>", the time source line of a kind with nothing to add.
std::string kind_and_path(const SourcePlan& plan);

}  // namespace vmrefclock

#include "filter/disruption_monitor.h"

#include <string>

namespace vmrefclock {

const char* to_string(Disruption::Cause cause) {
    switch (cause) {
        case Disruption::Cause::marker:
            return "marker";
        case Disruption::Cause::generation:
            return "generation";
        case Disruption::Cause::unreliable:
            return "unreliable";
        case Disruption::Cause::step:
            return "step";
        case Disruption::Cause::suspend:
            return "suspend";
        case Disruption::Cause::frequency:
            return "frequency";
        case Disruption::Cause::manual:
            return "manual";
    }
    return "unknown";  // unreachable for valid enum values; keeps -Wreturn-type quiet
}

std::optional<Disruption> DisruptionMonitor::observe(const HostInfo& host) {
    if (!seen_) {
        seen_ = true;
        marker_ = host.disruption_marker;
        generation_ = host.vm_generation;
        status_ = host.clock_status;
        return std::nullopt;
    }

    const bool marker_changed = host.disruption_marker != marker_;
    const bool generation_changed = host.vm_generation.has_value() && generation_.has_value() &&
                                    *host.vm_generation != *generation_;
    // Only the transition: a host that stays unreliable must not keep the daemon in
    // hold-off forever (the daemon stops feeding on the status itself, not on this).
    const bool became_unreliable =
        host.clock_status == ClockStatus::unreliable && status_ != ClockStatus::unreliable;

    std::string detail;
    auto append = [&detail](const std::string& part) {
        if (!detail.empty()) detail += "; ";
        detail += part;
    };
    if (generation_changed) {
        append("vm generation " + std::to_string(*generation_) + " -> " +
               std::to_string(*host.vm_generation));
    }
    if (marker_changed) {
        append("disruption marker " + std::to_string(marker_) + " -> " +
               std::to_string(host.disruption_marker));
    }
    if (became_unreliable) append("clock status became unreliable");

    marker_ = host.disruption_marker;
    if (host.vm_generation.has_value()) generation_ = host.vm_generation;
    status_ = host.clock_status;

    if (generation_changed) return Disruption{Disruption::Cause::generation, detail};
    if (marker_changed) return Disruption{Disruption::Cause::marker, detail};
    if (became_unreliable) return Disruption{Disruption::Cause::unreliable, detail};
    return std::nullopt;
}

void DisruptionMonitor::forget() {
    *this = DisruptionMonitor{};
}

}  // namespace vmrefclock

// The kinds of time source, and their names in the config and the status: parsed here
// once, compared as values everywhere else. sources/registry.cpp says what each kind
// does; a new kind adds its value and name here and its entry there.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <vector>

namespace vmrefclock {

enum class SourceKind {
    automatic,  // "auto": discovery chooses one of the kinds below (never a source itself)
    ptp,        // a PHC: /dev/ptpN
    vmclock,    // the vmclock page: /dev/vmclock0
};

struct SourceKindName {
    SourceKind kind;
    std::string_view name;  // `[source] type`, the status' source "type"
};

inline constexpr std::array kSourceKindNames = {
    SourceKindName{SourceKind::automatic, "auto"},
    SourceKindName{SourceKind::ptp, "ptp"},
    SourceKindName{SourceKind::vmclock, "vmclock"},
};

constexpr std::string_view source_kind_name(SourceKind kind) {
    for (const auto& k : kSourceKindNames) {
        if (k.kind == kind) return k.name;
    }
    return "unknown";
}

constexpr std::optional<SourceKind> parse_source_kind(std::string_view name) {
    for (const auto& k : kSourceKindNames) {
        if (k.name == name) return k.kind;
    }
    return std::nullopt;
}

// Every accepted `[source] type`, in the order errors list them.
inline std::vector<std::string_view> source_kind_names() {
    std::vector<std::string_view> names;
    for (const auto& k : kSourceKindNames) names.push_back(k.name);
    return names;
}

}  // namespace vmrefclock

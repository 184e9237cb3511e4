#include "sources/discovery.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/source_kind.h"

namespace vmrefclock {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKvmClockName = "KVM virtual PTP";

std::string read_first_line(const fs::path& path) {
    // sysfs attributes are regular files; anything else (a FIFO) is not waited on.
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return "";
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) {
        line.pop_back();
    }
    return line;
}

// "ptp12" -> 12, so ptp2 sorts before ptp10.
long ptp_index(const std::string& name) {
    return std::strtol(name.c_str() + 3, nullptr, 10);
}

int rank(const PhcCandidate& c) {
    switch (c.kind) {
        case PhcKind::vmclock:
            return 0;
        case PhcKind::kvm:
            return 1;
        case PhcKind::other:
            return c.allowed ? 2 : 3;
    }
    return 3;
}

bool named_in(const std::vector<std::string>& allowed, const PhcCandidate& c) {
    return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) {
        return a == c.clock_name || a == c.name || a == c.device_path;
    });
}

std::string why_phc(const PhcCandidate& c) {
    switch (c.kind) {
        case PhcKind::vmclock:
            return "vmclock's PHC is preferred: the host's own clock, read through the "
                   "vmclock page, with PRECISE/EXTENDED";
        case PhcKind::kvm:
            return "KVM virtual PTP is the host's CLOCK_REALTIME (KVM_HC_CLOCK_PAIRING)";
        case PhcKind::other:
            return "\"" + c.clock_name + "\" is allowed by [source] allow_phc";
    }
    return "";
}

}  // namespace

const char* to_string(PhcKind kind) {
    switch (kind) {
        case PhcKind::vmclock:
            return "vmclock PHC";
        case PhcKind::kvm:
            return "KVM PTP";
        case PhcKind::other:
            return "other PHC";
    }
    return "unknown";
}

std::string phc_clock_name(const std::string& sysfs_root, const std::string& device_path) {
    const std::string name = fs::path(device_path).filename().string();
    if (name.rfind("ptp", 0) != 0) return "";
    return read_first_line(fs::path(sysfs_root) / "class" / "ptp" / name / "clock_name");
}

DiscoveryResult discover_sources(const DiscoveryOptions& options) {
    DiscoveryResult result;
    const fs::path class_dir = fs::path(options.sysfs_root) / "class" / "ptp";
    result.sysfs_dir = class_dir.string();

    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(class_dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("ptp", 0) != 0) continue;
        PhcCandidate c;
        c.name = name;
        c.device_path = (fs::path(options.dev_root) / name).string();
        c.clock_name = read_first_line(entry.path() / "clock_name");
        if (c.clock_name.rfind("vmclock", 0) == 0) {
            c.kind = PhcKind::vmclock;
        } else if (c.clock_name == kKvmClockName) {
            c.kind = PhcKind::kvm;
        }
        c.allowed = c.kind != PhcKind::other || named_in(options.allowed_phcs, c);
        std::error_code exists_ec;
        c.device_exists = fs::exists(c.device_path, exists_ec);
        result.phcs.push_back(std::move(c));
    }
    std::sort(result.phcs.begin(), result.phcs.end(),
              [](const PhcCandidate& a, const PhcCandidate& b) {
                  if (rank(a) != rank(b)) return rank(a) < rank(b);
                  return ptp_index(a.name) < ptp_index(b.name);
              });

    result.vmclock_path = options.vmclock_path.empty()
                              ? (fs::path(options.dev_root) / "vmclock0").string()
                              : options.vmclock_path;
    if (options.use_vmclock) {
        result.vmclock_checked = true;
        if (options.probe_vmclock) {
            result.vmclock = options.probe_vmclock(result.vmclock_path);
        } else {
            std::error_code exists_ec;
            result.vmclock.exists = fs::exists(result.vmclock_path, exists_ec);
            if (result.vmclock.exists) result.vmclock.error = "page not read (no prober)";
        }
    }
    const bool page = result.vmclock.exists;
    const bool full_page = page && !result.vmclock.marker_only && result.vmclock.error.empty();

    for (size_t i = 0; i < result.phcs.size(); ++i) {
        const PhcCandidate& c = result.phcs[i];
        if (!c.usable()) continue;
        result.time_source = TimeSourceKind::phc;
        result.chosen_phc = static_cast<int>(i);
        result.time_source_path = c.device_path;
        result.vmclock_beside_phc = page;
        result.reason = why_phc(c);
        if (page) {
            result.reason += "; the vmclock page beside it signals disruptions";
        } else {
            result.reason +=
                "; no vmclock page: disruptions are detected from the data "
                "(step, suspend, frequency detectors)";
        }
        return result;
    }

    if (full_page) {
        result.time_source = TimeSourceKind::vmclock_page;
        result.time_source_path = result.vmclock_path;
        result.reason = "no usable PHC; the vmclock page has a usable counter and gives the time";
        return result;
    }

    std::string why =
        result.phcs.empty() ? "no PTP clock in " + result.sysfs_dir : "no PTP clock qualifies";
    for (const PhcCandidate& c : result.phcs) {
        if (!c.allowed) {
            why += "; " + c.name + " \"" + c.clock_name +
                   "\" is not a VM host clock (name it in [source] allow_phc to use it)";
        } else if (!c.device_exists) {
            why += "; " + c.name + " has no device node " + c.device_path;
        }
    }
    if (!result.vmclock_checked) {
        why += "; vmclock page disabled by config";
    } else if (!page) {
        why += "; no vmclock page at " + result.vmclock_path;
    } else if (!result.vmclock.error.empty()) {
        why += "; vmclock page " + result.vmclock_path + ": " + result.vmclock.error;
    } else {
        why += "; the vmclock page is marker-only (no time in it)";
    }
    result.reason = why;
    return result;
}

std::string format_discovery_found(const DiscoveryResult& result) {
    std::ostringstream out;
    out << "PTP clocks in " << result.sysfs_dir << ":";
    if (result.phcs.empty()) out << " none";
    out << "\n";
    for (size_t i = 0; i < result.phcs.size(); ++i) {
        const PhcCandidate& c = result.phcs[i];
        out << "  " << (static_cast<int>(i) == result.chosen_phc ? "* " : "  ") << c.device_path
            << "  \"" << c.clock_name << "\"  " << to_string(c.kind) << "  ";
        if (!c.device_exists) {
            out << "no device node";
        } else if (!c.allowed) {
            out << "not used (not a VM host clock; allow with [source] allow_phc)";
        } else {
            out << "usable";
        }
        out << "\n";
    }
    out << "vmclock page " << result.vmclock_path << ": ";
    if (!result.vmclock_checked) {
        out << "not checked ([disruption] vmclock = \"\")";
    } else if (!result.vmclock.exists) {
        out << "absent";
    } else if (!result.vmclock.error.empty()) {
        out << "present, " << result.vmclock.error;
    } else {
        out << (result.vmclock.marker_only ? "marker-only (disruption signal, no time)"
                                           : "full (counter usable: time and disruption signal)");
    }
    out << "\n";

    return out.str();
}

std::string format_discovery(const DiscoveryResult& result) {
    std::ostringstream out;
    out << format_discovery_found(result);
    out << "time source: ";
    switch (result.time_source) {
        case TimeSourceKind::phc:
            out << source_kind_name(SourceKind::ptp) << " " << result.time_source_path << " ("
                << result.chosen()->clock_name << ")\n";
            out << "disruption signal: "
                << (result.vmclock_beside_phc ? "vmclock page " + result.vmclock_path
                                              : std::string("data detectors (step, suspend, "
                                                            "frequency)"))
                << "\n";
            break;
        case TimeSourceKind::vmclock_page:
            out << source_kind_name(SourceKind::vmclock) << " " << result.time_source_path << "\n";
            out << "disruption signal: the same vmclock page\n";
            break;
        case TimeSourceKind::none:
            out << "none\n";
            break;
    }
    out << "reason: " << result.reason << "\n";
    return out.str();
}

}  // namespace vmrefclock

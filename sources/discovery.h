// Discovery for `[source] type = "auto"`: which host clocks this guest has, which one
// gives the time, and what signals disruptions beside it.
//
// In real guests today the time usually comes from a PHC (vmclock's own PHC, ptp_kvm's
// "KVM virtual PTP", or a NIC's), while the vmclock page, where there is one, carries
// only the disruption signal (QEMU, Firecracker and EC2 publish marker-only pages).
//
// Policy:
//   1. A PHC, if one qualifies: vmclock* first, then "KVM virtual PTP", then any other
//      only if config names it (by clock_name, ptpN or device path): a NIC's PHC may be
//      synchronised to anything, or to nothing, so it is never taken unasked.
//      A vmclock page beside it (full or marker-only) is the disruption signal.
//   2. Else a full vmclock page (one with a usable counter) is the time source.
//   3. Else nothing, with the reason.
// Both roots are configurable so tests can run over a fake tree.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace vmrefclock {

// What reading the header of a vmclock page says. Supplied by the caller so discovery
// does not depend on the page reader (the daemon plugs the real one in).
struct VmclockPageProbe {
    bool exists = false;
    bool marker_only = false;  // counter_id INVALID: disruption signal only, no time
    std::string error;         // set when it exists but could not be read/validated
};
using VmclockPageProber = std::function<VmclockPageProbe(const std::string& path)>;

enum class PhcKind { vmclock, kvm, other };
const char* to_string(PhcKind kind);

struct PhcCandidate {
    std::string name;         // "ptp0"
    std::string device_path;  // "<dev_root>/ptp0"
    std::string clock_name;   // sysfs clock_name, e.g. "KVM virtual PTP"
    PhcKind kind = PhcKind::other;
    bool allowed = false;  // vmclock/kvm always; others only when named in config
    bool device_exists = false;
    bool usable() const { return allowed && device_exists; }
};

struct DiscoveryOptions {
    std::string sysfs_root = "/sys";
    std::string dev_root = "/dev";
    // Other PHCs that may be used, by clock_name ("hyperv"), name ("ptp2") or device path.
    std::vector<std::string> allowed_phcs;
    // The vmclock page; "" means "<dev_root>/vmclock0". use_vmclock = false ([disruption]
    // vmclock = "") ignores any page.
    std::string vmclock_path;
    bool use_vmclock = true;
    // Without a prober a page that exists counts as "kind unknown": a disruption signal,
    // never a time source.
    VmclockPageProber probe_vmclock;
};

// What discovery found to give the time; the source kind that takes it is
// sources/registry.h's business.
enum class TimeSourceKind { none, phc, vmclock_page };

struct DiscoveryResult {
    std::string sysfs_dir;           // where PHCs were looked for
    std::vector<PhcCandidate> phcs;  // every PHC found, in order of preference
    std::string vmclock_path;
    bool vmclock_checked = false;  // false when use_vmclock was off
    VmclockPageProbe vmclock;

    TimeSourceKind time_source = TimeSourceKind::none;
    int chosen_phc = -1;           // index into phcs when time_source == phc
    std::string time_source_path;  // the device to open ("" when none)
    // A vmclock page read beside the PHC for its disruption marker / vm generation.
    bool vmclock_beside_phc = false;
    std::string reason;  // why this choice (or why nothing)

    const PhcCandidate* chosen() const {
        return chosen_phc >= 0 ? &phcs[static_cast<size_t>(chosen_phc)] : nullptr;
    }
};

DiscoveryResult discover_sources(const DiscoveryOptions& options);

// The clock_name of a PHC device path ("/dev/ptp0" -> "KVM virtual PTP"), "" if unknown;
// for describe() when the path was configured rather than discovered.
std::string phc_clock_name(const std::string& sysfs_root, const std::string& device_path);

// What was found: the PTP clocks and the vmclock page, one line each.
std::string format_discovery_found(const DiscoveryResult& result);
// What was found, what discovery would use, and why.
std::string format_discovery(const DiscoveryResult& result);

}  // namespace vmrefclock

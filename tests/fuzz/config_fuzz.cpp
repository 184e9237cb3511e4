// Fuzz target: the configuration parser (toml++ and the schema on top). The input is the
// file's text. Properties beyond "no crash, no UB, no exception":
// - an error names the origin and quotes a bounded excerpt, however large the input;
// - an accepted configuration holds only values the schema allows.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "tests/fuzz/fuzz_check.h"

using namespace vmrefclock;

namespace {

constexpr std::string_view kOrigin = "fuzz.toml";
// origin:line:column: + [table] + an 80-byte excerpt + the list of accepted keys, or a
// toml++ description cut at 200 bytes: well under this.
constexpr size_t kMaxErrorBytes = 512;

bool one_of(const std::string& v, std::initializer_list<std::string_view> accepted) {
    for (std::string_view a : accepted) {
        if (v == a) return true;
    }
    return false;
}

bool socket_path_ok(const std::string& path, bool empty_ok) {
    if (path.empty()) return empty_ok;
    return path.front() == '/' && path.size() < 108;
}

bool no_nul(const std::string& s) {
    return s.find('\0') == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    Result<Config> r = parse_config(text, kOrigin);
    if (!r) {
        const std::string& e = r.error().message;
        FUZZ_CHECK(e.rfind(std::string(kOrigin) + ":", 0) == 0, "error without origin: " + e);
        FUZZ_CHECK(e.size() <= kMaxErrorBytes,
                   std::to_string(e.size()) + "-byte error: " + e.substr(0, 300) + "...");
        FUZZ_CHECK(e.size() > kOrigin.size() + 3, "error without text: " + e);
        return 0;
    }
    const Config& c = *r;
    const std::string type(source_kind_name(c.source.type));
    FUZZ_CHECK(one_of(type, {"auto", "ptp", "vmclock"}), type);
    FUZZ_CHECK(one_of(c.source.method, {"auto", "precise", "extended", "basic"}), c.source.method);
    FUZZ_CHECK(c.source.interval_s >= 0.05 && c.source.interval_s <= 60, "interval");
    FUZZ_CHECK(c.source.readings >= 1 && c.source.readings <= 100, "readings");
    FUZZ_CHECK(!c.source.sysfs_root.empty() && !c.source.dev_root.empty(), "roots");
    for (const std::string& phc : c.source.allow_phc) {
        FUZZ_CHECK(!phc.empty() && no_nul(phc), "allow_phc entry");
    }
    FUZZ_CHECK(no_nul(c.source.path) && no_nul(c.source.sysfs_root) && no_nul(c.source.dev_root) &&
                   no_nul(c.disruption.vmclock) && no_nul(c.chrony.chronyc) &&
                   no_nul(c.status.group),
               "a NUL in a string");
    FUZZ_CHECK(socket_path_ok(c.chrony.socket, false), c.chrony.socket);
    FUZZ_CHECK(socket_path_ok(c.chrony.control_socket, true), c.chrony.control_socket);
    FUZZ_CHECK(socket_path_ok(c.status.socket, true), c.status.socket);
    FUZZ_CHECK(c.chrony.poll >= -4 && c.chrony.poll <= 8, "poll");
    FUZZ_CHECK(!c.chrony.chronyc.empty(), "chronyc");
    const DisruptionConfig& d = c.disruption;
    FUZZ_CHECK(d.step_floor_us >= 10 && d.step_floor_us <= 1e6, "step_floor_us");
    FUZZ_CHECK(d.step_sigma >= 3 && d.step_sigma <= 100, "step_sigma");
    FUZZ_CHECK(d.suspend_threshold_ms >= 0.1 && d.suspend_threshold_ms <= 60'000,
               "suspend_threshold_ms");
    FUZZ_CHECK(d.frequency_bound_ppm >= 1 && d.frequency_bound_ppm <= 10'000,
               "frequency_bound_ppm");
    FUZZ_CHECK(d.step_probation_s >= 0 && d.step_probation_s <= 86'400, "step_probation");
    FUZZ_CHECK(c.source.record.empty() || c.source.record.front() == '/', c.source.record);
    FUZZ_CHECK(c.source.record_max_mb >= 1 && c.source.record_max_mb <= 100'000, "record_max_mb");
    FUZZ_CHECK(!c.clockbound.path.empty() && c.clockbound.path.front() == '/' &&
                   c.clockbound.path.back() != '/',
               c.clockbound.path);
    FUZZ_CHECK(one_of(c.log.level, {"trace", "debug", "info", "warn", "error", "critical", "off"}),
               c.log.level);
    return 0;
}

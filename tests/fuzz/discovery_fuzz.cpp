// Fuzz target: discovery's sysfs parsing. Each input describes a /sys/class/ptp and /dev
// tree, built in a private directory and scanned by the real discover_sources:
//   <flags>:<name>:<clock_name bytes>   one entry in class/ptp (flags: d = /dev node
//                                       exists, l = a symlink to a directory elsewhere as
//                                       in real sysfs, f = a plain file, n = no
//                                       clock_name, b = a dangling symlink); a 0x01 byte
//                                       in clock_name becomes a newline
//   allow:<text>                        an [source] allow_phc entry
//   page:<absent|marker|full|error|off> what the vmclock page prober says
// Properties beyond "no crash, no UB":
// - every entry named ptp* is a candidate, in order of preference then index;
// - the first usable candidate is the time source, and only a usable one;
// - a clock_name is one line without trailing blanks, and phc_clock_name agrees with it;
// - kinds follow clock_name; the report names the time source.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "sources/discovery.h"
#include "tests/fuzz/fuzz_check.h"

using namespace vmrefclock;
namespace fs = std::filesystem;

namespace {

// A private directory, on tmpfs where there is one: the tree is rebuilt for every input.
// Never destroyed, so that the atexit clean-up can still name it.
const std::string& root() {
    static const std::string* dir = [] {
        std::string tmpl = (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        tmpl += "/vmr-fuzz-discovery-XXXXXX";
        FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr, "mkdtemp " + tmpl);
        auto* made = new std::string(tmpl);
        std::atexit([] { std::filesystem::remove_all(root()); });
        return made;
    }();
    return *dir;
}

int rank(const PhcCandidate& c) {
    if (c.kind == PhcKind::vmclock) return 0;
    if (c.kind == PhcKind::kvm) return 1;
    return c.allowed ? 2 : 3;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 4096) return -1;
    const std::string input(reinterpret_cast<const char*>(data), size);
    const fs::path base = root();
    std::error_code ec;
    fs::remove_all(base / "sys", ec);
    fs::remove_all(base / "dev", ec);
    fs::remove_all(base / "elsewhere", ec);
    const fs::path class_dir = base / "sys" / "class" / "ptp";
    fs::create_directories(class_dir);
    fs::create_directories(base / "dev");
    fs::create_directories(base / "elsewhere");

    DiscoveryOptions options;
    options.sysfs_root = (base / "sys").string();
    options.dev_root = (base / "dev").string();
    VmclockPageProbe page;
    options.probe_vmclock = [&page](const std::string&) { return page; };
    std::set<std::string> entries;
    int made = 0;

    size_t start = 0;
    while (start <= input.size() && made < 16) {
        size_t end = input.find('\n', start);
        if (end == std::string::npos) end = input.size();
        const std::string line = input.substr(start, end - start);
        start = end + 1;
        if (line.rfind("allow:", 0) == 0) {
            options.allowed_phcs.push_back(line.substr(6));
            continue;
        }
        if (line.rfind("page:", 0) == 0) {
            const std::string what = line.substr(5);
            page = {};
            page.exists = what != "absent";
            page.marker_only = what == "marker";
            if (what == "error") page.error = "bad magic";
            options.use_vmclock = what != "off";
            continue;
        }
        const size_t c1 = line.find(':');
        const size_t c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
        if (c2 == std::string::npos) continue;
        const std::string flags = line.substr(0, c1);
        std::string name;
        for (char ch : line.substr(c1 + 1, c2 - c1 - 1)) {
            if (ch != '/' && ch != '\0') name += ch;
        }
        if (name.empty() || name == "." || name == ".." || name.size() > 200) continue;
        std::string clock_name = line.substr(c2 + 1);
        for (char& ch : clock_name) {
            if (ch == '\x01') ch = '\n';
        }
        const fs::path entry = class_dir / name;
        if (fs::exists(fs::symlink_status(entry))) continue;  // the first one stays
        ++made;
        auto has = [&](char f) { return flags.find(f) != std::string::npos; };
        if (has('b')) {
            fs::create_directory_symlink(base / "nowhere" / name, entry, ec);
        } else if (has('f')) {
            std::ofstream(entry) << clock_name;
        } else {
            fs::path dir = entry;
            if (has('l')) {
                dir = base / "elsewhere" / name;
                fs::create_directory(dir, ec);
                fs::create_directory_symlink(dir, entry, ec);
            } else {
                fs::create_directory(dir, ec);
            }
            if (!has('n')) std::ofstream(dir / "clock_name", std::ios::binary) << clock_name;
        }
        if (has('d')) std::ofstream(base / "dev" / name);
        if (fs::exists(fs::symlink_status(entry)) && name.rfind("ptp", 0) == 0) {
            entries.insert(name);
        }
    }

    const DiscoveryResult result = discover_sources(options);
    FUZZ_CHECK(result.phcs.size() == entries.size(),
               std::to_string(result.phcs.size()) + " candidates for " +
                   std::to_string(entries.size()) + " ptp* entries");
    const PhcCandidate* first_usable = nullptr;
    for (size_t i = 0; i < result.phcs.size(); ++i) {
        const PhcCandidate& c = result.phcs[i];
        FUZZ_CHECK(entries.count(c.name) == 1, "a candidate that is no entry: " + c.name);
        FUZZ_CHECK(c.clock_name.find('\n') == std::string::npos, "a newline in " + c.clock_name);
        FUZZ_CHECK(
            c.clock_name.empty() || (c.clock_name.back() != ' ' && c.clock_name.back() != '\r'),
            "trailing blank in \"" + c.clock_name + "\"");
        FUZZ_CHECK(phc_clock_name(options.sysfs_root, c.device_path) == c.clock_name,
                   "phc_clock_name disagrees for " + c.name);
        FUZZ_CHECK((c.kind == PhcKind::vmclock) == (c.clock_name.rfind("vmclock", 0) == 0),
                   "kind of " + c.clock_name);
        FUZZ_CHECK((c.kind == PhcKind::kvm) == (c.clock_name == "KVM virtual PTP"),
                   "kind of " + c.clock_name);
        FUZZ_CHECK(c.device_exists == fs::exists(c.device_path), "device of " + c.name);
        if (i > 0) {
            const PhcCandidate& p = result.phcs[i - 1];
            FUZZ_CHECK(rank(p) <= rank(c), "preference order");
        }
        if (c.usable() && !first_usable) first_usable = &c;
    }
    if (first_usable) {
        FUZZ_CHECK(result.time_source == TimeSourceKind::phc && result.chosen() == first_usable,
                   "the first usable PHC is not the time source");
    } else {
        FUZZ_CHECK(result.time_source != TimeSourceKind::phc, "an unusable PHC chosen");
    }
    if (result.time_source == TimeSourceKind::vmclock_page) {
        FUZZ_CHECK(page.exists && !page.marker_only && page.error.empty() && options.use_vmclock,
                   "a page that gives no time chosen");
    }
    FUZZ_CHECK(!result.reason.empty(), "no reason");
    const std::string report = format_discovery(result);
    FUZZ_CHECK(report.find("\ntime source: ") != std::string::npos, report);
    return 0;
}

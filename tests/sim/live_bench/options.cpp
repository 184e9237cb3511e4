#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "tests/sim/live_bench/bench.h"

namespace vmrefclock::bench {

namespace {
constexpr const char* kUsage =
    R"(usage: vmrefclock-live-bench --bin DIR --chronyd LABEL=PATH [...] [options]
Feeds private chronyds from one simulated host page, side by side, and reports what
chrony believes against the injected truth (see README, "Live accuracy bench").
  --bin DIR             where vmclock-sim, vmrefclockd and naive-feeder are
  --chronyd LABEL=PATH  a chronyd to test, e.g. 4.3=/usr/sbin/chronyd (repeatable)
  --chronyc PATH        chronyc the daemons run for "reset sources" (chronyc)
  --intervals LIST      vmrefclockd/naive poll intervals, comma-separated (0.5,1)
  --warmup S            seconds from the feeders' start to the steady state (30)
  --seconds S           steady-state seconds (180)
  --recovery S          seconds observed after the disruption (60)
  --freq-ppm X          the host clock's rate against the system clock (3)
  --offset S            host - system at the start, seconds (0.00025)
  --step S              the disruption's clock step, seconds (0.003)
  --maxerror-ns N       the page's time_maxerror (1000)
  --busy                keep both cores busy with two spinning processes
  --raw FILE            write every chrony reading as CSV
  --keep                keep the working directory (logs, configs) and print it
)";

}  // namespace

Options parse_options(int argc, char** argv) {
    Options o;
    auto need = [&](int& i) -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(std::string(argv[i]) + ": missing value");
        return argv[++i];
    };
    auto num = [](const std::string& flag, const std::string& v) {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !std::isfinite(d))
            throw std::invalid_argument(flag + ": '" + v + "' is not a number");
        return d;
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a == "--bin") {
            o.bin = need(i);
        } else if (a == "--chronyd") {
            std::string v = need(i);
            auto eq = v.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
                throw std::invalid_argument("--chronyd: expected LABEL=PATH, got '" + v + "'");
            o.chronyds.emplace_back(v.substr(0, eq), v.substr(eq + 1));
        } else if (a == "--chronyc") {
            o.chronyc = need(i);
        } else if (a == "--intervals") {
            o.intervals.clear();
            std::stringstream ss(need(i));
            for (std::string x; std::getline(ss, x, ',');) o.intervals.push_back(num(a, x));
        } else if (a == "--warmup") {
            o.warmup_s = num(a, need(i));
        } else if (a == "--seconds") {
            o.seconds = num(a, need(i));
        } else if (a == "--recovery") {
            o.recovery_s = num(a, need(i));
        } else if (a == "--freq-ppm") {
            o.freq_ppm = num(a, need(i));
        } else if (a == "--offset") {
            o.offset_s = num(a, need(i));
        } else if (a == "--step") {
            o.step_s = num(a, need(i));
        } else if (a == "--maxerror-ns") {
            o.maxerror_ns = static_cast<uint64_t>(num(a, need(i)));
        } else if (a == "--busy") {
            o.busy = true;
        } else if (a == "--keep") {
            o.keep = true;
        } else if (a == "--raw") {
            o.raw = need(i);
        } else {
            throw std::invalid_argument("unknown option '" + a + "' (see --help)");
        }
    }
    if (o.bin.empty()) throw std::invalid_argument("--bin: required");
    if (o.chronyds.empty()) throw std::invalid_argument("--chronyd: at least one is required");
    if (o.intervals.empty()) throw std::invalid_argument("--intervals: empty");
    if (o.warmup_s < 1 || o.seconds < 5 || o.recovery_s < 5)
        throw std::invalid_argument("--warmup >= 1, --seconds >= 5, --recovery >= 5");
    return o;
}

}  // namespace vmrefclock::bench

#include "tests/sim/vmclock_sim/options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>

namespace vmrefclock::sim {

namespace {

constexpr const char* kUsage = R"(usage: vmclock-sim --page PATH [options]
Publishes a simulated hypervisor clock as a vmclock page (struct vmclock_abi) in PATH.
  --page PATH            page file to create and keep updated (required)
  --offset S             host clock - CLOCK_REALTIME at start, seconds (0)
  --freq-ppm X           host clock rate relative to CLOCK_REALTIME, ppm (0)
  --jitter S             sigma of gaussian noise on each published time, seconds (0)
  --update-interval S    seconds between page updates (1.0)
  --time-type utc|tai    time scale of the page (utc); tai publishes UTC + 37 s
  --tai-offset N         publish tai_offset_sec = N (UTC - TAI, e.g. -37) and its valid flag
  --marker-only          counter_id 0xff: disruption marker/generation/status only, no time
  --duration S           exit after S seconds (0 = until SIGINT/SIGTERM)
  --scenario FILE.toml   timed [[event]] list (disruption, frequency, status, leap,
                         maintenance, generation, corrupt: a hostile page for `duration` s,
                         what = time_sec_zero|period_max|time_sec_2262|shift_63|
                         counter_jump|time_jump (+ seconds)|bad_magic|bad_version|bad_size|
                         truncate|replace|fifo)
  --disrupt-step S       clock step applied with the disruption SIGUSR1 triggers (0)
  --truth-file PATH      key=value file with the injected truth, rewritten after each update
  --maxerror-ns N        time_maxerror_nanosec (1000)
  --esterror-ns N        time_esterror_nanosec (100)
  --seed N               seed for jitter and disruption markers (random otherwise)
)";

std::string quoted(std::string_view v) {
    return "'" + std::string(v) + "'";
}

double parse_double(std::string_view flag, const std::string& v) {
    errno = 0;
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || errno == ERANGE || !std::isfinite(d))
        throw UsageError(std::string(flag) + ": " + quoted(v) + " is not a finite number");
    return d;
}

std::int64_t parse_int(std::string_view flag, const std::string& v, std::int64_t lo,
                       std::int64_t hi) {
    errno = 0;
    char* end = nullptr;
    long long i = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || end != v.c_str() + v.size() || errno == ERANGE)
        throw UsageError(std::string(flag) + ": " + quoted(v) + " is not an integer");
    if (i < lo || i > hi)
        throw UsageError(std::string(flag) + ": " + quoted(v) + " is out of range [" +
                         std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return i;
}

std::uint64_t parse_uint(std::string_view flag, const std::string& v) {
    errno = 0;
    char* end = nullptr;
    if (v.empty() || v[0] == '-')
        throw UsageError(std::string(flag) + ": " + quoted(v) + " is not a non-negative integer");
    unsigned long long u = std::strtoull(v.c_str(), &end, 0);
    if (end != v.c_str() + v.size() || errno == ERANGE)
        throw UsageError(std::string(flag) + ": " + quoted(v) + " is not a non-negative integer");
    return u;
}

void require(bool ok, std::string_view flag, const std::string& v, const char* what) {
    if (!ok) throw UsageError(std::string(flag) + ": " + quoted(v) + " " + what);
}

}  // namespace

std::optional<Options> parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return std::nullopt;
        }
        if (arg == "--marker-only") {
            o.marker_only = true;
            continue;
        }
        if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument " + quoted(arg));
        // Both "--flag value" and "--flag=value".
        std::string flag = arg, v;
        if (auto eq = arg.find('='); eq != std::string::npos) {
            flag = arg.substr(0, eq);
            v = arg.substr(eq + 1);
            if (flag == "--marker-only") throw UsageError("--marker-only: takes no value");
        } else {
            static const char* const kValued[] = {
                "--page",       "--offset",      "--freq-ppm",    "--jitter",   "--update-interval",
                "--time-type",  "--tai-offset",  "--duration",    "--scenario", "--disrupt-step",
                "--truth-file", "--maxerror-ns", "--esterror-ns", "--seed"};
            bool known = false;
            for (const char* k : kValued) known = known || flag == k;
            if (!known) throw UsageError("unknown flag " + quoted(flag) + " (see --help)");
            if (i + 1 >= argc) throw UsageError(flag + ": missing value");
            v = argv[++i];
        }

        if (flag == "--page") {
            require(!v.empty(), flag, v, "is empty");
            o.page = v;
        } else if (flag == "--offset") {
            o.offset_s = parse_double(flag, v);
            require(std::fabs(o.offset_s) < 1e9, flag, v, "is too large");
        } else if (flag == "--freq-ppm") {
            o.freq_ppm = parse_double(flag, v);
            require(std::fabs(o.freq_ppm) <= kMaxFreqPpm, flag, v, "exceeds +-100000 ppm");
        } else if (flag == "--jitter") {
            o.jitter_s = parse_double(flag, v);
            require(o.jitter_s >= 0 && o.jitter_s < 1, flag, v, "must be in [0, 1) s");
        } else if (flag == "--update-interval") {
            o.update_interval_s = parse_double(flag, v);
            require(o.update_interval_s >= 0.001 && o.update_interval_s <= 3600, flag, v,
                    "must be in [0.001, 3600] s");
        } else if (flag == "--time-type") {
            if (v == "utc") {
                o.time_type = 0;
            } else if (v == "tai") {
                o.time_type = 1;
            } else {
                require(false, flag, v, "must be utc or tai");
            }
        } else if (flag == "--tai-offset") {
            o.tai_offset = static_cast<std::int16_t>(
                parse_int(flag, v, std::numeric_limits<std::int16_t>::min(),
                          std::numeric_limits<std::int16_t>::max()));
        } else if (flag == "--duration") {
            o.duration_s = parse_double(flag, v);
            require(o.duration_s >= 0, flag, v, "must be >= 0");
        } else if (flag == "--scenario") {
            require(!v.empty(), flag, v, "is empty");
            o.scenario = v;
        } else if (flag == "--disrupt-step") {
            o.disrupt_step_s = parse_double(flag, v);
            require(std::fabs(o.disrupt_step_s) < 1e6, flag, v, "is too large");
        } else if (flag == "--truth-file") {
            require(!v.empty(), flag, v, "is empty");
            o.truth_file = v;
        } else if (flag == "--maxerror-ns") {
            o.maxerror_ns = parse_uint(flag, v);
        } else if (flag == "--esterror-ns") {
            o.esterror_ns = parse_uint(flag, v);
        } else if (flag == "--seed") {
            o.seed = parse_uint(flag, v);
        } else {
            throw UsageError("unknown flag " + quoted(flag) + " (see --help)");
        }
    }
    if (o.page.empty()) throw UsageError("--page: required (see --help)");
    return o;
}

}  // namespace vmrefclock::sim

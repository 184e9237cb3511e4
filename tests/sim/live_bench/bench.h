// The live accuracy bench's shared types: what it was asked to do, and what it
// collected for each row (one chronyd and its feeder).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/sim/live_bench/chrony_cmd.h"

namespace vmrefclock::bench {

struct Options {
    std::string bin;
    std::vector<std::pair<std::string, std::string>> chronyds;
    std::string chronyc = "chronyc";
    std::vector<double> intervals = {0.5, 1.0};
    double warmup_s = 30, seconds = 180, recovery_s = 60;
    double freq_ppm = 3, offset_s = 0.00025, step_s = 0.003;
    uint64_t maxerror_ns = 1000;
    bool busy = false, keep = false;
    std::string raw;
};

// Parses the command line; throws std::invalid_argument with a message naming the flag.
Options parse_options(int argc, char** argv);

// vmclock-sim's truth file (harness.h Truth): its model only changes at a disruption,
// and the bench injects the only one.
using test::read_truth;
using test::Truth;

// Truth before the disruption, and after it from `step_at_ns` on.
struct TruthHistory {
    Truth before;
    std::optional<Truth> after;
    int64_t step_at_ns = 0;
    double at(int64_t t) const { return after && t >= step_at_ns ? after->at(t) : before.at(t); }
};

enum class Phase { warmup, steady, recovery };
inline const char* phase_name(Phase p) {
    return p == Phase::warmup ? "warmup" : p == Phase::steady ? "steady" : "recovery";
}

struct Point {
    int64_t t_ns;     // midpoint of the exchange, CLOCK_REALTIME
    int64_t half_ns;  // half-width of the exchange
    double est_ns;    // chrony's estimate of true - system
    double err_ns;    // est - truth
    Phase phase;
};

struct DaemonSample {
    int64_t time_ns;
    double offset_ns;
    int64_t error_ns;
    bool sent;
};

struct CpuMark {
    int64_t mono_ns = 0, chronyd_ns = -1, feeder_ns = -1;
    int64_t polls = -1;    // the daemon's own poll count
    int64_t requests = 0;  // bench requests to this chronyd so far
};

struct Row {
    std::string version, chronyd, feeder;  // feeder: default | noreset | naive
    double interval = 0.5;
    std::string dir, cmd_sock, refclock_sock, status_sock;
    pid_t chronyd_pid = -1, feeder_pid = -1;
    std::unique_ptr<ChronyCmd> cmd;
    int64_t start_ns = 0;  // the feeder's start, CLOCK_REALTIME
    std::vector<Point> points;
    std::vector<double> sd_ns;  // sourcestats std-dev, steady state
    // (tracking correction - sourcestats offset) - truth, steady state: the spine test's
    // reading of chrony's estimate, which also counts the residual chrony still sees.
    std::vector<double> alt_err_ns;
    std::map<int64_t, DaemonSample> samples;
    std::optional<uint64_t> maxerror_ns;
    CpuMark cpu0, cpu1;
    int64_t requests = 0;               // the bench's requests to this chronyd
    std::vector<double> fetch_cost_ns;  // the daemon's CPU per samples request, steady state
    bool is_daemon() const { return feeder != "naive"; }
    std::string name() const {
        char b[64];
        std::snprintf(b, sizeof b, "%s-%g-%s", version.c_str(), interval, feeder.c_str());
        return b;
    }
};

// printf(f, x), or "—" when x is not finite.
std::string fmt(const char* f, double x);

// The version number `chronyd --version` prints, "?" if it cannot be run.
std::string version_of(const std::string& chronyd);

// Prints the tables (markdown) and writes --raw; returns the exit status: 0, or 3 when
// issue 14's bar fails. `request_cost_ns`: chronyd's CPU per bench request, by label.
int report(const Options& o, std::vector<std::unique_ptr<Row>>& rows, const TruthHistory& truth,
           const std::map<std::string, double>& request_cost_ns);

}  // namespace vmrefclock::bench

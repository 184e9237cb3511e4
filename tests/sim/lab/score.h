// Scoring: runs several SampleFilters in lockstep over one trace and measures what chrony
// would have received from each against the truth. Every sample goes through the
// daemon's SOCK encoding (to_sock_sample) and is decoded as chrony does: the reference
// tv + offset paired with the system time tv; the error is that offset minus the truth
// at tv. An encoding that moves the reference (the old +0.5 us bias) shows as error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "filter/sample_filter.h"
#include "ipc/chrony/chrony_sock.h"
#include "tests/sim/lab/replay.h"
#include "tests/sim/lab/scenario.h"

namespace vmrefclock::lab {

struct Method {
    std::string name;
    std::unique_ptr<SampleFilter> filter;
    // Whether the method's error_ns includes the host's published time_maxerror (ours);
    // the bound's width is reported without it, the host's term beside it.
    bool bound_includes_host = false;
};

struct MethodScore {
    std::string name;
    int64_t polls = 0;
    int64_t sent = 0;           // polls that produced a sample
    int64_t scored = 0;         // sent samples whose poll has a truth
    int64_t not_finite = 0;     // samples with a NaN/inf offset (must stay 0)
    double rms_ns = 0;          // of (received offset - true offset at tv)
    double max_ns = 0;          // largest |error|
    int64_t outside_bound = 0;  // scored samples whose |error| exceeded their error_ns
    // The error bound's width over the sent samples, without the host's time_maxerror
    // (median and 99th percentile), and the host's term (median; 0 without host data).
    double bound_median_ns = 0;
    double bound_p99_ns = 0;
    double host_maxerror_ns = 0;
    int events = 0;
    // Worst, over the trace's events, of the polls until the samples are back within
    // the tolerance: the event's poll counts as 1; recovered at the first sent sample
    // within tolerance after which the next kRecoveryHold polls' samples all are.
    // -1: no event; a value > kRecoveryLimit: never recovered.
    int recovery_polls = -1;

    double outside_bound_fraction() const {
        return scored > 0 ? static_cast<double>(outside_bound) / static_cast<double>(scored) : 0.0;
    }
    double coverage() const { return 1.0 - outside_bound_fraction(); }
};

constexpr int kRecoveryHold = 10;
constexpr int kRecoveryLimit = 600;

struct ScoreOptions {
    // The daemon's encoding by default; tests swap in a broken one to see it caught.
    std::function<SockSample(const Sample&)> encode = to_sock_sample;
    double recovery_tolerance_ns = 1'000;
};

// The lab's three methods, baselines first: phc2sys, chrony-style (4 samples per
// chrony poll, the daemon's default poll 2 at 1 Hz), and `ours` from make_sample_filter.
std::vector<Method> standard_methods(const std::string& ours = "robust");

// Mimics the daemon: a change of the host's disruption marker resets every filter
// before the batch is processed. At most `polls` polls (a trace file may end sooner).
std::vector<MethodScore> run_stream(BatchStream& stream, int64_t polls,
                                    std::vector<Method>& methods, const ScoreOptions& options = {});
std::vector<MethodScore> run_scenario(const ScenarioConfig& config, uint64_t seed, int64_t polls,
                                      std::vector<Method>& methods,
                                      const ScoreOptions& options = {});

}  // namespace vmrefclock::lab

// Scoring: runs several SampleFilters in lockstep over one trace and measures the
// samples each would have sent to chrony against the truth.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "filter/sample_filter.h"
#include "tests/sim/lab/scenario.h"

namespace vmrefclock::lab {

struct Method {
    std::string name;
    std::unique_ptr<SampleFilter> filter;
};

struct MethodScore {
    std::string name;
    int64_t polls = 0;
    int64_t sent = 0;           // polls that produced a sample
    int64_t not_finite = 0;     // samples with a NaN/inf offset (must stay 0)
    double rms_ns = 0;          // of (sent offset - true offset at the sample's time)
    double max_ns = 0;          // largest |error|
    int64_t outside_bound = 0;  // samples whose |error| exceeded their error_ns
    int events = 0;
    // Worst, over the scenario's events, of the polls until the samples are back within
    // the scenario's tolerance: the event's poll counts as 1; recovered at the first sent
    // sample within tolerance after which the next kRecoveryHold polls' samples all are.
    // -1: no event; a value > kRecoveryLimit: never recovered.
    int recovery_polls = -1;

    double outside_bound_fraction() const {
        return sent > 0 ? static_cast<double>(outside_bound) / static_cast<double>(sent) : 0.0;
    }
};

constexpr int kRecoveryHold = 10;
constexpr int kRecoveryLimit = 600;

// The lab's three methods, baselines first: phc2sys, chrony-style (4 samples per
// chrony poll, the daemon's default poll 2 at 1 Hz), and `ours` from make_sample_filter.
std::vector<Method> standard_methods(const std::string& ours = "robust");

// Mimics the daemon: a change of the host's disruption marker resets every filter
// before the batch is processed.
std::vector<MethodScore> run_scenario(const ScenarioConfig& config, uint64_t seed, int64_t polls,
                                      std::vector<Method>& methods);

}  // namespace vmrefclock::lab

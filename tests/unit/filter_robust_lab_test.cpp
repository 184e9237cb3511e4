// The robust filter on the clock lab, fixed seeds, scored on what chrony receives
// (after the SOCK encoding): the targets of issues 4 and 14.
//   every scenario: the truth inside the sent error bound in >= 99.9 % of samples, and
//   the bound tight: its median, without the host's time_maxerror, <= 4x the RMS error;
//   noisy hypercall, asymmetric spikes: RMS <= a quarter of the better baseline;
//   clean vmclock, disruption, master step: RMS <= 0.7x the better baseline (measured
//   0.62-0.64: an averaging regression fails);
//   wander: RMS < 0.95x the better baseline (the target: beat both). The host's
//   +-10 ns re-anchoring error, constant for 8 s, dominates there and the wander (a
//   0.1 ppm cycle) allows no straight-line window that averages several re-anchorings
//   (6.1-6.2 ns against chrony's 5.9-6.0); the host-error tracker keeps it out (measured
//   5.3-5.4 ns against chrony's 5.8-5.9 on these 6-h traces, seeds 1-3);
//   back within tolerance <= 2 polls after a disruption (and after a 4.5 ms step).
// Six-hour traces (the bench runs a day) with events more often, to stay fast.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "filter/robust_filter.h"
#include "filter/sample_filter.h"
#include "tests/sim/lab/basic_filter.h"
#include "tests/sim/lab/scenario.h"
#include "tests/sim/lab/score.h"
#include "tests/sim/lab/trace.h"

namespace vmrefclock::lab {
namespace {

constexpr int64_t kPolls = 6 * 3600;
constexpr uint64_t kSeeds[] = {1, 2, 3};

struct Scores {
    MethodScore phc2sys, chrony, ours;
    double better_baseline_rms() const { return std::min(phc2sys.rms_ns, chrony.rms_ns); }
};

Scores run(const ScenarioConfig& sc, uint64_t seed) {
    std::vector<Method> methods = standard_methods("robust");
    std::vector<MethodScore> s = run_scenario(sc, seed, kPolls, methods);
    Scores out{s[0], s[1], s[2]};
    std::printf(
        "%-18s seed %llu: rms phc2sys %.1f chrony %.1f ours %.1f ns; ours max %.1f ns, "
        "in bound %.3f %%, bound median %.1f p99 %.1f ns + host %.0f ns, recovery %d\n",
        sc.name.c_str(), static_cast<unsigned long long>(seed), out.phc2sys.rms_ns,
        out.chrony.rms_ns, out.ours.rms_ns, out.ours.max_ns, 100 * out.ours.coverage(),
        out.ours.bound_median_ns, out.ours.bound_p99_ns, out.ours.host_maxerror_ns,
        out.ours.recovery_polls);
    EXPECT_EQ(out.ours.not_finite, 0);
    EXPECT_GE(out.ours.sent, kPolls - 2 * std::max(out.ours.events, 1));
    EXPECT_EQ(out.ours.scored, out.ours.sent);
    EXPECT_GE(out.ours.coverage(), 0.999) << sc.name << " seed " << seed;
    EXPECT_LE(out.ours.bound_median_ns, 4.0 * out.ours.rms_ns) << sc.name << " seed " << seed;
    EXPECT_EQ(out.ours.host_maxerror_ns, sc.host_info ? sc.host_maxerror_ns : 0) << sc.name;
    return out;
}

TEST(RobustLab, NoisyHypercallQuartersTheBetterBaselineRms) {
    for (uint64_t seed : kSeeds) {
        const Scores s = run(scenario_by_name("noisy-hypercall"), seed);
        EXPECT_LE(s.ours.rms_ns, 0.25 * s.better_baseline_rms());
    }
}

TEST(RobustLab, AsymmetricSpikesQuarterTheBetterBaselineRms) {
    for (uint64_t seed : kSeeds) {
        const Scores s = run(scenario_by_name("asymmetric-spikes"), seed);
        EXPECT_LE(s.ours.rms_ns, 0.25 * s.better_baseline_rms());
    }
}

TEST(RobustLab, CleanVmclockBeatsTheBetterBaselineByAThird) {
    for (uint64_t seed : kSeeds) {
        const Scores s = run(scenario_by_name("clean-vmclock"), seed);
        EXPECT_LE(s.ours.rms_ns, 0.7 * s.better_baseline_rms());
    }
}

TEST(RobustLab, WanderBeatsTheBetterBaselineInsideATightBound) {
    for (uint64_t seed : kSeeds) {
        const Scores s = run(scenario_by_name("wander"), seed);
        EXPECT_LT(s.ours.rms_ns, 0.95 * s.better_baseline_rms());
    }
}

TEST(RobustLab, RecoversWithinTwoPollsAfterDisruptions) {
    ScenarioConfig sc = scenario_by_name("disruption");
    sc.disruption_interval_s = 1800;  // 12 migrations in 6 h
    for (uint64_t seed : kSeeds) {
        const Scores s = run(sc, seed);
        EXPECT_LE(s.ours.rms_ns, 0.7 * s.better_baseline_rms());
        EXPECT_EQ(s.ours.events, 12);
        EXPECT_GE(s.ours.recovery_polls, 1);
        EXPECT_LE(s.ours.recovery_polls, 2);
    }
}

TEST(RobustLab, FollowsA4p5msMasterClockStepWithinTwoPolls) {
    ScenarioConfig sc = scenario_by_name("master-step");
    sc.master_step_interval_s = 2700;  // 8 steps in 6 h, alternating sign
    for (uint64_t seed : kSeeds) {
        const Scores s = run(sc, seed);
        EXPECT_LE(s.ours.rms_ns, 0.7 * s.better_baseline_rms());
        EXPECT_EQ(s.ours.events, 8);
        EXPECT_GE(s.ours.recovery_polls, 1);
        EXPECT_LE(s.ours.recovery_polls, 2);
    }
}

// After a reset the window is empty and the frequency is learnt again from the new
// clock: two polls after a migration the estimate has the new frequency.
TEST(RobustLab, ResetRelearnsTheFrequencyWithinTwoPolls) {
    ScenarioConfig sc = scenario_by_name("disruption");
    sc.disruption_interval_s = 600;
    TraceGenerator gen(sc, 11);
    RobustFilter f;
    int since_event = -1;
    int checked = 0;
    for (int p = 0; p < 3600; ++p) {
        const Batch& b = gen.next();
        if (gen.event() == EventKind::disruption) {
            f.reset();
            EXPECT_FALSE(f.estimate());
            EXPECT_EQ(f.samples_in_window(), 0);
            since_event = 0;
        }
        Result<Sample> s = f.process(b);
        ASSERT_TRUE(s) << p << ": " << s.error().message;
        if (since_event >= 0) ++since_event;
        if (since_event == 2 || (p > 300 && since_event < 0)) {
            ASSERT_TRUE(f.estimate());
            EXPECT_NEAR(f.estimate()->frequency_ppm, gen.truth_freq_ppm(), 0.05) << p;
            ++checked;
        }
        if (since_event >= 2) since_event = -1;
    }
    EXPECT_GT(checked, 100);
}

// The daemon resets on a marker change; the filter also notices one by itself.
TEST(RobustLab, NoticesAMarkerChangeWithoutAReset) {
    ScenarioConfig sc = scenario_by_name("disruption");
    sc.disruption_interval_s = 600;
    TraceGenerator gen(sc, 12);
    RobustFilter f;
    for (int p = 0; p < 1800; ++p) {
        const Batch& b = gen.next();
        Result<Sample> s = f.process(b);
        ASSERT_TRUE(s) << p;
        EXPECT_LE(std::abs(s->offset_ns - gen.truth(s->time_ns)), 1000) << p;
    }
}

TEST(RobustLab, IsTheDaemonsDefault) {
    EXPECT_EQ(sample_filter_names().front(), "robust");
    auto f = make_sample_filter("robust");
    ASSERT_TRUE(f);
    EXPECT_NE(dynamic_cast<RobustFilter*>(f->get()), nullptr);
    // The daemon's own choice (the lab's names only mirror it).
    EXPECT_NE(dynamic_cast<RobustFilter*>(make_default_filter().get()), nullptr);
}

}  // namespace
}  // namespace vmrefclock::lab

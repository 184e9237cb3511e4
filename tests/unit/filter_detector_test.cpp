// The data disruption detectors (step, suspend, frequency) on synthetic samples.
// The end-to-end runs through the fake PTP device are in sources_ptp_disruption_test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <optional>

#include "filter/data_disruption_detector.h"
#include "filter/frequency_change_detector.h"
#include "filter/step_detector.h"
#include "filter/suspend_detector.h"
#include "tests/sim/lab/least_squares_estimator.h"

namespace vmrefclock {
namespace {

// The detectors take any model's estimate; the lab's least-squares line is a simple one.
using lab::LeastSquaresEstimator;

constexpr int64_t kT0 = 1'800'000'000'000'000'000;
constexpr int64_t kPoll = 500'000'000;  // 0.5 s

Sample sample_at(int k, double offset_ns, int64_t error_ns = 1'000) {
    Sample s;
    s.time_ns = kT0 + k * kPoll;
    s.offset_ns = offset_ns;
    s.delay_ns = 2 * error_ns;
    s.error_ns = error_ns;
    s.readings_used = 3;
    return s;
}

// The offset of a clean clock: 37 µs plus 3 ppm, +-300 ns of deterministic wiggle.
double clean_offset(int k) {
    return 37'000.0 + 3.0 * 500.0 * k + 300.0 * std::sin(k * 1.7);
}

struct StepRig {
    LeastSquaresEstimator estimator{32};
    StepDetector detector;
    StepDetector::Observation feed(int k, double offset_ns, int64_t error_ns = 1'000) {
        Sample s = sample_at(k, offset_ns, error_ns);
        auto obs = detector.observe(s, estimator.estimate());
        estimator.add(s);
        return obs;
    }
    void warm_up(int polls) {
        for (int k = 0; k < polls; ++k) {
            ASSERT_EQ(feed(k, clean_offset(k)).verdict, StepDetector::Verdict::accept) << k;
        }
    }
};

TEST(StepDetector, NoJudgementWithoutAModel) {
    StepDetector detector;
    EXPECT_EQ(detector.observe(sample_at(0, 1e9), std::nullopt).verdict,
              StepDetector::Verdict::accept);
    Estimate tiny;
    tiny.samples = 2;
    tiny.time_ns = kT0;
    EXPECT_EQ(detector.observe(sample_at(1, 1e9), tiny).verdict, StepDetector::Verdict::accept);
}

TEST(StepDetector, MasterClockUpdateStepIsConfirmedOnTheNextPoll) {
    StepRig rig;
    rig.warm_up(40);
    auto first = rig.feed(40, clean_offset(40) + 4.5e6);
    EXPECT_EQ(first.verdict, StepDetector::Verdict::hold);
    EXPECT_FALSE(first.disruption);
    EXPECT_NEAR(first.residual_ns, 4.5e6, 2'000);
    // The estimator took the stepped sample (SampleFilter::process does); the detector
    // judges the next one against the model from before the step anyway.
    auto second = rig.feed(41, clean_offset(41) + 4.5e6);
    ASSERT_EQ(second.verdict, StepDetector::Verdict::step);
    ASSERT_TRUE(second.disruption);
    EXPECT_EQ(second.disruption->cause, Disruption::Cause::step);
    EXPECT_NE(second.disruption->detail.find("4500"), std::string::npos)
        << second.disruption->detail;
}

TEST(StepDetector, NegativeStepToo) {
    StepRig rig;
    rig.warm_up(40);
    EXPECT_EQ(rig.feed(40, clean_offset(40) - 1e6).verdict, StepDetector::Verdict::hold);
    EXPECT_EQ(rig.feed(41, clean_offset(41) - 1e6).verdict, StepDetector::Verdict::step);
}

TEST(StepDetector, OneSpikeIsNotAStep) {
    StepRig rig;
    rig.warm_up(40);
    EXPECT_EQ(rig.feed(40, clean_offset(40) + 2e6).verdict, StepDetector::Verdict::hold);
    auto next = rig.feed(41, clean_offset(41));
    EXPECT_NE(next.verdict, StepDetector::Verdict::step);
    EXPECT_FALSE(next.disruption);
    EXPECT_FALSE(rig.detector.holding());
}

TEST(StepDetector, SpikesOnOppositeSidesAreNotAStep) {
    StepRig rig;
    rig.warm_up(40);
    EXPECT_EQ(rig.feed(40, clean_offset(40) + 2e6).verdict, StepDetector::Verdict::hold);
    auto opposite = rig.feed(41, clean_offset(41) - 2e6);
    EXPECT_NE(opposite.verdict, StepDetector::Verdict::step);
}

TEST(StepDetector, BelowTheFloorIsLeftToTheEstimator) {
    StepRig rig;
    rig.warm_up(40);
    for (int k = 40; k < 60; ++k) {
        EXPECT_EQ(rig.feed(k, clean_offset(k) + 150'000).verdict, StepDetector::Verdict::accept);
    }
}

TEST(StepDetector, AnUncertainSampleNeedsAnAsUncertainMargin) {
    // A sample whose kept readings were preempted (delay 2 x 400 µs) may be 400 µs off
    // without anything having happened.
    StepRig rig;
    rig.warm_up(40);
    EXPECT_EQ(rig.feed(40, clean_offset(40) + 400'000, 400'000).verdict,
              StepDetector::Verdict::accept);
}

TEST(StepDetector, ResetForgetsACandidate) {
    StepRig rig;
    rig.warm_up(40);
    EXPECT_EQ(rig.feed(40, clean_offset(40) + 2e6).verdict, StepDetector::Verdict::hold);
    rig.detector.reset();
    EXPECT_FALSE(rig.detector.holding());
}

TEST(SuspendDetector, FirstObservationIsTheBaseline) {
    SuspendDetector d;
    EXPECT_FALSE(d.observe(100, 5'000'100, 100));
    EXPECT_FALSE(d.observe(1'000'100, 6'000'100, 1'000'100));  // unchanged difference
}

TEST(SuspendDetector, JumpOfBoottimeMinusMonotonicIsASuspend) {
    SuspendDetector d;
    ASSERT_FALSE(d.observe(1'000, 2'000, 1'000));
    auto s = d.observe(500'000'000, 30'500'001'000, 500'000'000);  // 30 s slept
    ASSERT_TRUE(s);
    EXPECT_EQ(s->cause, Disruption::Cause::suspend);
    EXPECT_NE(s->detail.find("30000 ms"), std::string::npos) << s->detail;
    EXPECT_FALSE(d.observe(1'000'000'000, 31'000'001'000, 1'000'000'000));  // new baseline
}

TEST(SuspendDetector, SmallJumpsAndReadSkewAreNotASuspend) {
    SuspendDetector d;
    ASSERT_FALSE(d.observe(0, 10'000, 0));
    EXPECT_FALSE(d.observe(1'000'000'000, 1'000'510'000, 1'000'000'000));  // +0.5 ms
    // Preempted for 5 ms between the reads: the true difference is unchanged.
    EXPECT_FALSE(d.observe(2'000'000'000, 2'000'510'000 + 5'000'000, 2'010'000'000));
    EXPECT_FALSE(d.observe(3'000'000'000, 3'000'510'000, 3'000'000'000));
}

TEST(SuspendDetector, ThresholdIsConfigurable) {
    SuspendDetector d(SuspendDetectorOptions{10'000'000});
    ASSERT_FALSE(d.observe(0, 0, 0));
    EXPECT_FALSE(d.observe(1'000, 5'001'000, 1'000));
    EXPECT_TRUE(d.observe(2'000, 25'002'000, 2'000));
}

Estimate estimate_with(double frequency_ppm, int samples = 32) {
    Estimate e;
    e.frequency_ppm = frequency_ppm;
    e.samples = samples;
    return e;
}

TEST(FrequencyChangeDetector, NeedsAFullEnoughWindow) {
    FrequencyChangeDetector d;
    EXPECT_FALSE(d.observe(estimate_with(0, 5)));
    EXPECT_FALSE(d.observe(estimate_with(500, 5)));
    EXPECT_FALSE(d.observe(estimate_with(900, 5)));
    EXPECT_FALSE(d.baseline_ppm().has_value());
}

TEST(FrequencyChangeDetector, SlowSteeringMovesTheBaseline) {
    FrequencyChangeDetector d;
    for (int i = 0; i < 400; ++i) {
        ASSERT_FALSE(d.observe(estimate_with(3.0 + 0.25 * i))) << i;  // 100 ppm over 400 polls
    }
    EXPECT_GT(*d.baseline_ppm(), 60.0);
}

TEST(FrequencyChangeDetector, AJumpBeyondTheBoundConfirmedTwice) {
    FrequencyChangeDetector d;
    for (int i = 0; i < 20; ++i) ASSERT_FALSE(d.observe(estimate_with(3.0)));
    EXPECT_FALSE(d.observe(estimate_with(120.0)));  // first: may be one tilted fit
    auto fired = d.observe(estimate_with(125.0));
    ASSERT_TRUE(fired);
    EXPECT_EQ(fired->cause, Disruption::Cause::frequency);
    EXPECT_NE(fired->detail.find("+122.0 ppm"), std::string::npos) << fired->detail;
    EXPECT_FALSE(d.baseline_ppm().has_value());  // re-learnt after the disruption
    EXPECT_FALSE(d.observe(estimate_with(125.0)));
}

TEST(FrequencyChangeDetector, OneOutlierIsForgiven) {
    FrequencyChangeDetector d;
    for (int i = 0; i < 20; ++i) ASSERT_FALSE(d.observe(estimate_with(3.0)));
    EXPECT_FALSE(d.observe(estimate_with(90.0)));
    EXPECT_FALSE(d.observe(estimate_with(3.0)));
    EXPECT_FALSE(d.observe(estimate_with(90.0)));
}

TEST(DataDisruptionDetector, StepCandidateSuppressesTheFrequencyVerdict) {
    DataDisruptionDetector d;
    LeastSquaresEstimator estimator(32);
    int disruptions = 0;
    for (int k = 0; k < 80; ++k) {
        double offset = clean_offset(k) + (k >= 60 ? 4.5e6 : 0.0);
        Sample s = sample_at(k, offset);
        auto verdict = d.observe_sample(s, estimator.estimate());
        if (k == 60) {
            EXPECT_FALSE(verdict.trustworthy);
        }
        estimator.add(s);
        auto f = d.observe_estimate(*estimator.estimate());
        if (verdict.disruption) {
            ++disruptions;
            EXPECT_EQ(k, 61);
            EXPECT_EQ(verdict.disruption->cause, Disruption::Cause::step);
            estimator.reset();
        }
        if (f) {
            ++disruptions;
            ADD_FAILURE() << "frequency fired at " << k << ": " << f->detail;
            estimator.reset();
        }
    }
    EXPECT_EQ(disruptions, 1);
}

TEST(DataDisruptionDetector, SuspendResetsTheOthers) {
    DataDisruptionDetector d;
    LeastSquaresEstimator estimator(32);
    for (int k = 0; k < 40; ++k) {
        Sample s = sample_at(k, clean_offset(k));
        d.observe_sample(s, estimator.estimate());
        estimator.add(s);
    }
    d.observe_sample(sample_at(40, clean_offset(40) + 2e6), estimator.estimate());
    ASSERT_FALSE(d.observe_clocks(0, 100, 0));
    auto s = d.observe_clocks(1'000, 10'000'001'100, 1'000);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->cause, Disruption::Cause::suspend);
    // The held step candidate is gone: the next sample cannot "confirm" it.
    auto v = d.observe_sample(sample_at(41, clean_offset(41) + 2e6), estimator.estimate());
    EXPECT_FALSE(v.disruption);
}

TEST(DataDisruptionDetector, DisabledDetectorsStayQuiet) {
    DataDisruptionOptions o;
    o.step_enabled = o.suspend_enabled = o.frequency_enabled = false;
    DataDisruptionDetector d(o);
    EXPECT_FALSE(d.observe_clocks(0, 0, 0));
    EXPECT_FALSE(d.observe_clocks(0, 1'000'000'000'000, 0));
    Estimate e = estimate_with(0);
    e.time_ns = kT0;
    EXPECT_TRUE(d.observe_sample(sample_at(1, 1e9), e).trustworthy);
}

TEST(DisruptionCauses, DataDetectorCausesHaveNames) {
    EXPECT_STREQ(to_string(Disruption::Cause::step), "step");
    EXPECT_STREQ(to_string(Disruption::Cause::suspend), "suspend");
    EXPECT_STREQ(to_string(Disruption::Cause::frequency), "frequency");
}

}  // namespace
}  // namespace vmrefclock

// The clock lab itself: deterministic, fast, realistic batches, truth consistent with
// the readings, events where the scenario puts them; the baselines as described.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>

#include "tests/sim/lab/baselines.h"
#include "tests/sim/lab/scenario.h"
#include "tests/sim/lab/trace.h"

namespace vmrefclock::lab {
namespace {

TEST(LabTrace, SameSeedSameTraceOtherSeedOtherTrace) {
    const ScenarioConfig sc = scenario_by_name("noisy-hypercall");
    TraceGenerator a(sc, 7), b(sc, 7), c(sc, 8);
    bool differs = false;
    for (int i = 0; i < 500; ++i) {
        const Batch& ba = a.next();
        const Batch& bb = b.next();
        const Batch& bc = c.next();
        ASSERT_EQ(ba.readings.size(), bb.readings.size());
        for (size_t j = 0; j < ba.readings.size(); ++j) {
            EXPECT_EQ(ba.readings[j].sys_pre_ns, bb.readings[j].sys_pre_ns);
            EXPECT_EQ(ba.readings[j].ref_ns, bb.readings[j].ref_ns);
            EXPECT_EQ(ba.readings[j].sys_post_ns, bb.readings[j].sys_post_ns);
            if (ba.readings[j].ref_ns != bc.readings[j].ref_ns) differs = true;
        }
    }
    EXPECT_TRUE(differs);
}

TEST(LabTrace, ADayOfPollsTakesWellUnderASecond) {
    TraceGenerator gen(scenario_by_name("noisy-hypercall"), 1);
    const auto start = std::chrono::steady_clock::now();
    int64_t sum = 0;
    for (int i = 0; i < 86'400; ++i) sum += gen.next().readings[0].delay_ns();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GT(sum, 0);
    std::printf("a day of 1 Hz polls (10 readings each) generated in %.3f s\n", s);
    EXPECT_LT(s, 1.0);
}

// Every reading brackets the reference read: its midpoint offset is within half the
// delay of the truth (plus the host's published error, which the truth leaves out).
TEST(LabTrace, ReadingsAreRealisticAndConsistentWithTheTruth) {
    for (const ScenarioConfig& sc : standard_scenarios()) {
        TraceGenerator gen(sc, 3);
        int64_t prev_post = 0;
        for (int i = 0; i < 3'000; ++i) {
            const Batch& b = gen.next();
            ASSERT_EQ(static_cast<int>(b.readings.size()), sc.readings) << sc.name;
            EXPECT_EQ(b.host.has_value(), sc.host_info) << sc.name;
            for (const Reading& r : b.readings) {
                EXPECT_GT(r.sys_pre_ns, 1'780'000'000'000'000'000) << sc.name;
                EXPECT_GE(r.sys_pre_ns, prev_post) << sc.name;
                EXPECT_GE(r.delay_ns(), static_cast<int64_t>(sc.delay_floor_ns)) << sc.name;
                EXPECT_LE(r.delay_ns(), static_cast<int64_t>(sc.delay_floor_ns + sc.spike_max_ns +
                                                             100 * sc.delay_jitter_ns + 1))
                    << sc.name;
                const double err = static_cast<double>(r.offset_ns()) - gen.truth(r.sys_mid_ns());
                EXPECT_LE(std::abs(err),
                          static_cast<double>(r.delay_ns()) / 2 + sc.host_step_ns + 2)
                    << sc.name << " poll " << i;
                prev_post = r.sys_post_ns;
            }
            if (b.host) {
                EXPECT_GE(static_cast<double>(*b.host->time_maxerror_ns), sc.host_step_ns);
            }
        }
    }
}

TEST(LabTrace, DisruptionsChangeTheMarkerMasterStepsDoNot) {
    ScenarioConfig sc = scenario_by_name("disruption");
    sc.disruption_interval_s = 600;
    sc.master_step_interval_s = 900;
    TraceGenerator gen(sc, 5);
    uint64_t marker = 0;
    int disruptions = 0, steps = 0;
    for (int i = 0; i < 3'600; ++i) {
        const Batch& b = gen.next();
        const double before = gen.truth(b.readings[0].sys_pre_ns - 1);
        const double after = gen.truth(b.readings[0].sys_pre_ns);
        if (i > 0) {
            const bool changed = b.host->disruption_marker != marker;
            EXPECT_EQ(changed, gen.event() == EventKind::disruption) << i;
        }
        marker = b.host->disruption_marker;
        if (gen.event() == EventKind::disruption) {
            ++disruptions;
            EXPECT_GE(std::abs(after - before), sc.disruption_step_min_ns - 100);
        }
        if (gen.event() == EventKind::master_step) {
            ++steps;
            EXPECT_NEAR(std::abs(after - before), 4'500'000, 100);
        }
    }
    EXPECT_EQ(disruptions, 6);  // at 300, 900, ... 3300 s
    EXPECT_EQ(steps, 4);        // at 450, 1350, 2250, 3150 s
}

Reading reading(int64_t pre, int64_t delay, int64_t offset) {
    return Reading{pre, pre + delay / 2 + offset, pre + delay};
}

TEST(LabBaselines, Phc2sysTakesTheMinimumDelayReadingsMidpoint) {
    Phc2sysFilter f;
    Batch b;
    b.readings = {reading(1000, 50, 7), reading(2000, 30, 9), reading(3000, 40, 11)};
    Result<Sample> s = f.process(b);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->time_ns, 2015);
    EXPECT_DOUBLE_EQ(s->offset_ns, 9);
    EXPECT_EQ(s->error_ns, 15);
    EXPECT_FALSE(f.process(Batch{}));
}

TEST(LabBaselines, ChronyStyleSendsOneMedianFilteredSamplePerChronyPoll) {
    ChronyStyleFilter f(4);
    // Delays 10..19 in every batch: the 10-20 % quantiles are 11 and 12.
    int sent = 0;
    for (int p = 0; p < 40; ++p) {
        Batch b;
        const int64_t t = 1'000'000'000LL * p;
        for (int i = 0; i < 10; ++i) {
            // Offsets: 100 for the delays in [11, 12], wildly off otherwise.
            const int64_t off = (i == 1 || i == 2) ? 100 : 100'000 * (i + 1);
            b.readings.push_back(reading(t + 100 * i, 10 + i, off));
        }
        Result<Sample> s = f.process(b);
        if ((p + 1) % 4 == 0) {
            ASSERT_TRUE(s) << p;
            EXPECT_NEAR(s->offset_ns, 100, 1) << p;
            ++sent;
        } else {
            EXPECT_FALSE(s) << p;
        }
    }
    EXPECT_EQ(sent, 10);
}

}  // namespace
}  // namespace vmrefclock::lab

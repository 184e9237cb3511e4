// The published bound and status (filter/time_bound.h): every value a reader gets must
// hold, including between a disruption and the first measurement of the new clock.
#include "filter/time_bound.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace vmrefclock {
namespace {

constexpr int64_t kMono = 1'000'000'000'000;  // 1000 s
constexpr int64_t kCoarseResNs = 4'000'000;

TimeBoundInput fed(double offset_ns, double error_ns, uint64_t disruptions = 0) {
    TimeBoundInput in;
    in.now_coarse_mono_ns = kMono;
    in.coarse_resolution_ns = kCoarseResNs;
    in.host_usable = true;
    in.fed_chrony = true;
    in.disruptions = disruptions;
    BoundMeasurement m;
    m.offset_ns = offset_ns;
    m.error_ns = error_ns;
    m.frequency_ppm = -0.002;
    m.frequency_stddev_ppm = 0.001;
    in.fresh = m;
    return in;
}

TEST(TimeBound, FreshBoundIsOffsetPlusErrorPlusDriftOverAgeAndCoarseTick) {
    TimeBound bound;
    TimeBoundInput in = fed(-300, 200);
    in.fresh->age_ns = 1'000'000;
    const PublishedBound& b = bound.update(in);
    EXPECT_EQ(b.status, BoundStatus::synchronized);
    // (|-0.002| + 3 * 0.001) ppm + 1000 ppb margin.
    EXPECT_EQ(b.max_drift_ppb, 1005u);
    EXPECT_EQ(b.bound_ns, static_cast<int64_t>(std::ceil(500 + 1005e-9 * (1e6 + 4e6))));
    EXPECT_EQ(b.as_of_coarse_mono_ns, kMono);
}

TEST(TimeBound, UnknownBeforeTheFirstBoundAndWithoutUsableHostTime) {
    TimeBound bound;
    TimeBoundInput starting;
    EXPECT_EQ(bound.update(starting).status, BoundStatus::unknown);
    TimeBoundInput unusable = fed(5, 100);
    unusable.host_usable = false;
    EXPECT_EQ(bound.update(unusable).status, BoundStatus::unknown);
}

// Found live: the segment was marked Disrupted with the old clock's bound, and a reader
// between that write and the new clock's first measurement was told an interval 2 ms off.
TEST(TimeBound, DisruptionWithoutAMeasurementOfTheNewClockPublishesNoBound) {
    TimeBound bound;
    bound.update(fed(10, 100));
    TimeBoundInput noticed;
    noticed.now_coarse_mono_ns = kMono + 20'000'000;
    noticed.coarse_resolution_ns = kCoarseResNs;
    noticed.host_usable = true;
    noticed.holdoff = true;
    noticed.disruptions = 1;
    const PublishedBound b = bound.update(noticed);
    EXPECT_EQ(b.status, BoundStatus::disrupted);
    EXPECT_EQ(b.bound_ns, TimeBound::kUnknownBoundNs);
    EXPECT_EQ(b.as_of_coarse_mono_ns, kMono + 20'000'000);

    // The new clock's first measurement, held back from chrony: its bound, Disrupted.
    TimeBoundInput measured = fed(2'000'000, 100, 1);
    measured.fed_chrony = false;
    measured.holdoff = true;
    EXPECT_EQ(bound.update(measured).status, BoundStatus::disrupted);
    EXPECT_GE(bound.last().bound_ns, 2'000'100);
    EXPECT_LT(bound.last().bound_ns, 2'100'000);

    // Fed to chrony (chrony still re-selecting: "holdoff"): Synchronized.
    TimeBoundInput feeding = fed(2'000'000, 100, 1);
    feeding.holdoff = true;
    EXPECT_EQ(bound.update(feeding).status, BoundStatus::synchronized);
}

TEST(TimeBound, DegradedKeepsTheLastBoundAndAsOfSoReadersAddTheDrift) {
    TimeBound bound;
    const PublishedBound first = bound.update(fed(10, 100));
    TimeBoundInput degraded;
    degraded.now_coarse_mono_ns = kMono + 3'000'000'000;
    degraded.host_usable = true;
    const PublishedBound& b = bound.update(degraded);
    EXPECT_EQ(b.status, BoundStatus::free_running);
    EXPECT_EQ(b.as_of_coarse_mono_ns, first.as_of_coarse_mono_ns);
    EXPECT_EQ(b.bound_ns, first.bound_ns);

    // A disruption while degraded: no bound, Disrupted until a fed, fresh one.
    degraded.disruptions = 1;
    EXPECT_EQ(bound.update(degraded).status, BoundStatus::disrupted);
    EXPECT_EQ(bound.last().bound_ns, TimeBound::kUnknownBoundNs);
    degraded.now_coarse_mono_ns += 1'000'000'000;
    EXPECT_EQ(bound.update(degraded).status, BoundStatus::disrupted);
    EXPECT_EQ(bound.last().bound_ns, TimeBound::kUnknownBoundNs);
}

TEST(TimeBound, UnknownSlopeAndAbsurdInputStayWithinWhatReadersCanAdd) {
    TimeBound bound;
    TimeBoundInput in = fed(1000, 500);
    in.fresh->frequency_stddev_ppm.reset();
    EXPECT_EQ(bound.update(in).max_drift_ppb, 50'000u);
    in.fresh->offset_ns = std::numeric_limits<double>::quiet_NaN();
    in.fresh->frequency_stddev_ppm = std::numeric_limits<double>::infinity();
    const PublishedBound& b = bound.update(in);
    EXPECT_EQ(b.bound_ns, TimeBound::kUnknownBoundNs);
    EXPECT_EQ(b.max_drift_ppb, TimeBound::kMaxDriftPpb);
}

}  // namespace
}  // namespace vmrefclock

// The robust filter's worst-case bound (for the bounded-time segment) beside its
// statistical one (sent to chrony).
#include <gtest/gtest.h>

#include <random>

#include "filter/robust_filter.h"

namespace vmrefclock {
namespace {

TEST(WorstCaseBound, HoldsTheHalfDelaysThatTheStatisticalBoundLeavesOut) {
    RobustFilter filter;
    std::mt19937_64 rng(1);
    std::normal_distribution<double> noise(0, 5);
    const int64_t t0 = 1'700'000'000'000'000'000;
    for (int poll = 0; poll < 40; ++poll) {
        Batch batch;
        for (int i = 0; i < 10; ++i) {
            const int64_t pre = t0 + poll * 500'000'000LL + i * 1000;
            // 100 ns reads: the reference is known to within +-50 ns of the midpoint.
            batch.readings.push_back({pre, pre + 50 + static_cast<int64_t>(noise(rng)), pre + 100});
        }
        ASSERT_TRUE(filter.process(batch)) << poll;
    }
    auto e = filter.estimate();
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->worst_case_bound_ns);
    // Through a fit whose weights sum to 1, the half-delays add up to at least one.
    EXPECT_GE(*e->worst_case_bound_ns, 50.0);
    EXPECT_GE(*e->worst_case_bound_ns, e->error_bound_ns);
    EXPECT_LT(e->error_bound_ns, 50.0) << "the statistical bound is the tighter one";
    ASSERT_TRUE(e->frequency_stddev_ppm);
    EXPECT_LT(*e->frequency_stddev_ppm, 0.01);
}

}  // namespace
}  // namespace vmrefclock

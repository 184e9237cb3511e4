#include "tests/sim/lab/least_squares_estimator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>

#include "tests/sim/lab/estimator.h"
#include "tests/sim/lab/sample_selector.h"

namespace vmrefclock::lab {
namespace {

// 2026-06-01T00:00:00Z in ns.
constexpr int64_t kT0 = 1'780'272'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

// Deterministic across standard libraries (std distributions are not).
class SplitMix64 {
  public:
    explicit SplitMix64(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    int64_t uniform(int64_t lo, int64_t hi) {  // inclusive
        return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
    }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  private:
    uint64_t s_;
};

// A reference clock running at offset(t) = offset0 + ppm * 1e-6 * (t - start), read
// through interleaved readings whose reference read falls anywhere inside [pre, post]
// (so a reading's offset is off by up to half its delay), with delays of 30..200 ns,
// a few 5..50 µs spikes (the vCPU descheduled mid-read) and one reading with negative
// delay (a step during the read) per batch.
struct ClockModel {
    int64_t start_ns;
    double offset0_ns;
    double ppm;
    double offset_at(int64_t t) const {
        return offset0_ns + ppm * 1e-6 * static_cast<double>(t - start_ns);
    }
};

Batch make_batch(const ClockModel& clock, int64_t t, SplitMix64& rng) {
    Batch b;
    b.precision_ns = 1;
    int64_t pre = t;
    for (int i = 0; i < 25; ++i) {
        int64_t delay = rng.uniform(30, 200);
        if (i % 8 == 3) delay = rng.uniform(5'000, 50'000);  // spikes
        Reading r;
        r.sys_pre_ns = pre;
        r.sys_post_ns = pre + delay;
        const int64_t read_at = pre + static_cast<int64_t>(rng.unit() * static_cast<double>(delay));
        r.ref_ns = read_at + std::llround(clock.offset_at(read_at));
        if (i == 11) {  // stepped during the read, with a bogus reference
            std::swap(r.sys_pre_ns, r.sys_post_ns);
            r.ref_ns += 3'000'000;
        }
        b.readings.push_back(r);
        pre += delay + 500;
    }
    return b;
}

Sample make_sample(int64_t t, double offset, int64_t error = 10) {
    Sample s;
    s.time_ns = t;
    s.offset_ns = offset;
    s.error_ns = error;
    s.readings_used = 1;
    return s;
}

TEST(LeastSquaresEstimator, EmptyGivesNothing) {
    LeastSquaresEstimator est;
    EXPECT_EQ(est.size(), 0);
    EXPECT_FALSE(est.estimate().has_value());
    EXPECT_FALSE(est.predict(kT0).has_value());
}

TEST(LeastSquaresEstimator, OneSampleIsItsOffsetWithZeroFrequency) {
    LeastSquaresEstimator est;
    est.add(make_sample(kT0, 250'000.5, 40));
    auto e = est.estimate();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->time_ns, kT0);
    EXPECT_DOUBLE_EQ(e->offset_ns, 250'000.5);
    EXPECT_DOUBLE_EQ(e->frequency_ppm, 0.0);
    EXPECT_DOUBLE_EQ(e->stddev_ns, 0.0);
    EXPECT_DOUBLE_EQ(e->error_bound_ns, 40.0);
    EXPECT_EQ(e->samples, 1);
}

TEST(LeastSquaresEstimator, TwoSamplesGiveTheSlope) {
    LeastSquaresEstimator est;
    est.add(make_sample(kT0, 1000.0, 30));
    est.add(make_sample(kT0 + 2 * kSecond, 1010.0, 20));  // +10 ns in 2 s = 5 ppb
    auto e = est.estimate();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->time_ns, kT0 + 2 * kSecond);
    EXPECT_NEAR(e->offset_ns, 1010.0, 1e-9);
    EXPECT_NEAR(e->frequency_ppm, 0.005, 1e-12);
    EXPECT_DOUBLE_EQ(e->stddev_ns, 0.0);
    // At the newest sample, with two samples, the fit is that sample: its error.
    EXPECT_NEAR(e->error_bound_ns, 20.0, 1e-9);
}

TEST(LeastSquaresEstimator, ExactLineIsRecoveredAtRealisticTimePoints) {
    LeastSquaresEstimator est;
    const ClockModel clock{kT0, -123'456.0, -17.5};
    for (int i = 0; i < 40; ++i) {
        const int64_t t = kT0 + i * 4 * kSecond + 123;
        est.add(make_sample(t, clock.offset_at(t), 5));
    }
    EXPECT_EQ(est.size(), 32);  // default window
    auto e = est.estimate();
    ASSERT_TRUE(e.has_value());
    const int64_t newest = kT0 + 39 * 4 * kSecond + 123;
    EXPECT_EQ(e->time_ns, newest);
    EXPECT_NEAR(e->offset_ns, clock.offset_at(newest), 1e-6);
    EXPECT_NEAR(e->frequency_ppm, -17.5, 1e-9);
    EXPECT_NEAR(e->stddev_ns, 0.0, 1e-6);
    EXPECT_EQ(e->samples, 32);

    // Extrapolation follows the line; its error bound grows with the distance.
    auto p = est.predict(newest + 16 * kSecond);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->time_ns, newest + 16 * kSecond);
    EXPECT_NEAR(p->offset_ns, clock.offset_at(newest + 16 * kSecond), 1e-6);
    EXPECT_GT(p->error_bound_ns, e->error_bound_ns);
}

TEST(LeastSquaresEstimator, StddevAndErrorBoundFromResiduals) {
    // Alternating +-d around a flat line: the fit is the line (slope from the pattern is
    // tiny), the residuals are +-d, stddev = d * sqrt(n / (n - 2)) approximately.
    LeastSquaresEstimator est(4);
    const double d = 10.0;
    for (int i = 0; i < 4; ++i) est.add(make_sample(kT0 + i * kSecond, (i % 2 ? d : -d), 0));
    auto e = est.estimate();
    ASSERT_TRUE(e.has_value());
    // x = -3,-2,-1,0 (xm -1.5, Sxx 5); y = -10,10,-10,10: b = 4, a = 6.
    EXPECT_NEAR(e->frequency_ppm, 4e-3, 1e-12);
    EXPECT_NEAR(e->offset_ns, 6.0, 1e-9);
    // Residuals -4, 12, -12, 4: ss = 320, / 2 dof = 160.
    EXPECT_NEAR(e->stddev_ns, std::sqrt(160.0), 1e-9);
    // Sample errors are 0: the bound is 3 * stddev * sqrt(1/4 + 2.25/5) = 3 * s * sqrt(0.7).
    EXPECT_NEAR(e->error_bound_ns, 3.0 * std::sqrt(160.0) * std::sqrt(0.7), 1e-9);
}

TEST(LeastSquaresEstimator, WindowSlides) {
    LeastSquaresEstimator est(3);
    for (int i = 0; i < 10; ++i) est.add(make_sample(kT0 + i * kSecond, i < 7 ? 0.0 : 500.0));
    // Only the last three (all 500) are left: flat at 500.
    auto e = est.estimate();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->samples, 3);
    EXPECT_NEAR(e->offset_ns, 500.0, 1e-9);
    EXPECT_NEAR(e->frequency_ppm, 0.0, 1e-12);
}

TEST(LeastSquaresEstimator, NonIncreasingTimeDropsTheConflictingOlderSamples) {
    LeastSquaresEstimator est;
    est.add(make_sample(kT0, 0.0));
    est.add(make_sample(kT0 + kSecond, 100.0));
    est.add(make_sample(kT0 + 2 * kSecond, 200.0));
    // The system clock went back: a sample at kT0 + 1 s replaces those at/after it.
    est.add(make_sample(kT0 + kSecond, 50.0));
    EXPECT_EQ(est.size(), 2);
    auto e = est.estimate();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->time_ns, kT0 + kSecond);
    EXPECT_NEAR(e->offset_ns, 50.0, 1e-9);
    EXPECT_NEAR(e->frequency_ppm, 50e-3, 1e-12);
    // A duplicate time replaces, never divides by zero.
    est.add(make_sample(kT0 + kSecond, 60.0));
    EXPECT_EQ(est.size(), 2);
    EXPECT_NEAR(est.estimate()->offset_ns, 60.0, 1e-9);
    // Before everything: only the new one is left.
    est.add(make_sample(kT0 - kSecond, 7.0));
    EXPECT_EQ(est.size(), 1);
    EXPECT_DOUBLE_EQ(est.estimate()->offset_ns, 7.0);
    EXPECT_DOUBLE_EQ(est.estimate()->frequency_ppm, 0.0);
}

TEST(LeastSquaresEstimator, NonFiniteOffsetsAreIgnored) {
    LeastSquaresEstimator est;
    est.add(make_sample(kT0, 5.0));
    est.add(make_sample(kT0 + kSecond, std::numeric_limits<double>::quiet_NaN()));
    est.add(make_sample(kT0 + 2 * kSecond, std::numeric_limits<double>::infinity()));
    EXPECT_EQ(est.size(), 1);
    auto e = est.estimate();
    ASSERT_TRUE(e.has_value());
    EXPECT_TRUE(std::isfinite(e->offset_ns));
    EXPECT_TRUE(std::isfinite(e->error_bound_ns));
    EXPECT_DOUBLE_EQ(e->offset_ns, 5.0);
}

// The whole pure pipeline: batches -> selector -> estimator recovers +250 µs, +3 ppm.
TEST(FilterPipeline, RecoversOffsetAndFrequency) {
    const ClockModel clock{kT0, 250'000.0, 3.0};
    SplitMix64 rng(20260601);
    SampleSelector selector;
    std::unique_ptr<Estimator> est = std::make_unique<LeastSquaresEstimator>();
    int64_t t = kT0;
    for (int poll = 0; poll < 32; ++poll) {
        auto s = selector.select(make_batch(clock, t, rng));
        ASSERT_TRUE(s.ok()) << s.error().message;
        // Neither the spikes nor the stepped reading make it into a sample.
        EXPECT_LE(s->delay_ns, 200);
        EXPECT_EQ(s->readings_used, 7);  // 30 % of the 24 valid readings (7.2), rounded down
        EXPECT_LE(std::abs(s->offset_ns - clock.offset_at(s->time_ns)), s->error_ns);
        est->add(*s);
        t += kSecond + rng.uniform(-1000, 1000);  // 1 s polls with timer jitter
    }
    auto e = est->estimate();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->samples, 32);
    EXPECT_NEAR(e->offset_ns, clock.offset_at(e->time_ns), 5.0);
    EXPECT_NEAR(e->frequency_ppm, 3.0, 0.01);
    // The bound holds, and is not uselessly loose.
    EXPECT_LE(std::abs(e->offset_ns - clock.offset_at(e->time_ns)), e->error_bound_ns);
    EXPECT_LT(e->error_bound_ns, 200.0);
    EXPECT_GT(e->stddev_ns, 0.0);
}

// After a disruption the window is emptied and a new offset/frequency is learnt quickly.
TEST(FilterPipeline, ResetThenRelearnsWithinThreeSamples) {
    const ClockModel before{kT0, 250'000.0, 3.0};
    SplitMix64 rng(7);
    SampleSelector selector;
    LeastSquaresEstimator est;
    int64_t t = kT0;
    for (int poll = 0; poll < 20; ++poll, t += kSecond) {
        est.add(*selector.select(make_batch(before, t, rng)));
    }
    ASSERT_NEAR(est.estimate()->frequency_ppm, 3.0, 0.01);

    // Migration: the host's clock is 1.7 ms away and runs at -40 ppm.
    est.reset();
    EXPECT_EQ(est.size(), 0);
    EXPECT_FALSE(est.estimate().has_value());
    EXPECT_FALSE(est.predict(t).has_value());

    const ClockModel after{t, -1'700'000.0, -40.0};
    for (int poll = 0; poll < 3; ++poll, t += kSecond) {
        est.add(*selector.select(make_batch(after, t, rng)));
        auto e = est.estimate();
        ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->samples, poll + 1);
        // The offset is right from the first sample on: nothing of the old model is left.
        EXPECT_NEAR(e->offset_ns, after.offset_at(e->time_ns), 100.0);
        if (poll >= 1) {
            EXPECT_NEAR(e->frequency_ppm, -40.0, 0.2);
        }
    }
    EXPECT_NEAR(est.estimate()->frequency_ppm, -40.0, 0.05);
}

}  // namespace
}  // namespace vmrefclock::lab

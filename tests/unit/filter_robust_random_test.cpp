// The robust filter against anything a source (or a bug upstream) could hand it: many
// seeds, short traces of valid, degenerate and absurd batches. Whatever comes in, a
// sample that goes out has a finite offset no further from the readings than they are
// from each other, a finite non-negative bound, and a time inside the batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "filter/robust_filter.h"
#include "filter/robust_regression.h"
#include "tests/sim/lab/rng.h"
#include "tests/sim/lab/scenario.h"
#include "tests/sim/lab/trace.h"

namespace vmrefclock {
namespace {

using lab::Rng;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

int64_t any_time(Rng& rng) {
    switch (rng.next() % 5) {
        case 0:
            return static_cast<int64_t>(rng.next());  // anything at all
        case 1:
            return rng.chance(0.5) ? kMax - static_cast<int64_t>(rng.next() % 1000)
                                   : kMin + static_cast<int64_t>(rng.next() % 1000);
        case 2:
            return static_cast<int64_t>(rng.next() % 1000);
        default:
            return 1'782'000'000'000'000'000 + static_cast<int64_t>(rng.next() % 100'000'000'000);
    }
}

// t + offset as the hardware would compute it (two's complement wrap-around): absurd
// values are the point here, but a signed overflow in the test itself is still undefined.
int64_t wrapping_add(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// A batch of one of many shapes, around time t (which the caller moves, mostly forward).
Batch random_batch(Rng& rng, int64_t t) {
    Batch b;
    b.precision_ns = rng.chance(0.1) ? static_cast<int64_t>(rng.next()) : 1;
    if (rng.chance(0.05)) b.unusable_reason = "marker-only page";
    const int n = rng.chance(0.1) ? 0 : static_cast<int>(rng.next() % 26);
    const int shape = static_cast<int>(rng.next() % 8);
    const int64_t offset =
        rng.chance(0.2) ? any_time(rng) : static_cast<int64_t>(rng.next() % 10'000);
    for (int i = 0; i < n; ++i) {
        Reading r;
        switch (shape) {
            case 0:  // all negative delay: stepped during every read
                r = {t + 100, wrapping_add(t, offset), t};
                break;
            case 1:  // equal timestamps (cross-timestamps), equal across the batch
                r = {t, wrapping_add(t, offset), t};
                break;
            case 2:  // garbage everywhere
                r = {any_time(rng), any_time(rng), any_time(rng)};
                break;
            case 3:  // huge delays only: all above the maximum
                r = {t, wrapping_add(t, offset),
                     t + 20'000'000 + static_cast<int64_t>(rng.next() % 1000)};
                break;
            default: {  // plausible reads, offsets anywhere
                const int64_t pre = t + 100 * i;
                const int64_t d =
                    30 + static_cast<int64_t>(rng.next() % (rng.chance(0.2) ? 500'000 : 50));
                int64_t ref = 0;
                if (__builtin_add_overflow(pre + d / 2, offset, &ref)) ref = kMax;
                r = {pre, ref, pre + d};
            }
        }
        b.readings.push_back(r);
    }
    if (rng.chance(0.5)) {
        HostInfo h;
        h.disruption_marker = rng.chance(0.05) ? rng.next() : 1;
        if (rng.chance(0.7)) h.time_maxerror_ns = rng.chance(0.1) ? rng.next() : 100;
        b.host = h;
    }
    return b;
}

void check(const Batch& b, const Result<Sample>& s, const RobustFilter& f) {
    if (!s) return;
    ASSERT_TRUE(std::isfinite(s->offset_ns));
    ASSERT_GE(s->error_ns, 0);
    ASSERT_LE(s->error_ns, 1'000'000'000'000'000'000);
    int64_t lo_t = kMax, hi_t = kMin;
    for (const Reading& r : b.readings) {
        lo_t = std::min({lo_t, r.sys_pre_ns, r.sys_post_ns});
        hi_t = std::max({hi_t, r.sys_pre_ns, r.sys_post_ns});
    }
    ASSERT_GE(s->time_ns, lo_t);
    ASSERT_LE(s->time_ns, hi_t);
    // No offset beyond 2^64 ns: the readings' offsets are int64, and the filter never
    // moves further from its samples than they are from each other.
    ASSERT_LE(std::abs(s->offset_ns), 3.0 * 9.3e18);
    const std::optional<Estimate> e = f.estimate();
    if (e) {
        ASSERT_TRUE(std::isfinite(e->offset_ns));
        ASSERT_TRUE(std::isfinite(e->frequency_ppm));
        ASSERT_TRUE(std::isfinite(e->stddev_ns));
        ASSERT_TRUE(std::isfinite(e->error_bound_ns));
        ASSERT_GE(e->error_bound_ns, 0);
        ASSERT_GE(e->samples, 1);
    }
}

TEST(RobustRandom, NeverNaNInfOrAbsurdWhateverTheInput) {
    int sent = 0;
    for (uint64_t seed = 1; seed <= 400; ++seed) {
        Rng rng(seed);
        RobustFilter f;
        int64_t t = 1'782'000'000'000'000'000;
        for (int p = 0; p < 150; ++p) {
            // Mostly forward, sometimes backwards, sometimes standing still.
            const double u = rng.unit();
            t += u < 0.8 ? 1'000'000'000
                         : (u < 0.9 ? -static_cast<int64_t>(rng.next() % 10'000'000'000) : 0);
            const Batch b = random_batch(rng, t);
            const Result<Sample> s = f.process(b);
            check(b, s, f);
            if (s) ++sent;
            if (rng.chance(0.02)) f.reset();
            if (HasFatalFailure()) {
                ADD_FAILURE() << "seed " << seed << " poll " << p;
                return;
            }
        }
    }
    EXPECT_GT(sent, 10'000);  // the valid shapes do produce samples
}

// Issue 9: time differences between absurd timestamps overflowed int64 (undefined
// behaviour: the sanitizer build aborts). A full window near one end of the range, then
// polls at the other end, and batches whose readings span the whole range.
TEST(RobustRandom, TimestampsAtBothEndsOfTheRangeAreNotOverflowed) {
    for (int64_t start : {kMin + 1'000'000'000, kMax - 100'000'000'000}) {
        RobustFilter f;
        int64_t t = start;
        auto poll_at = [&](int64_t at) {
            Batch b;
            for (int i = 0; i < 10; ++i) b.readings.push_back({at + i, at + i + 500, at + i + 1});
            const Result<Sample> s = f.process(b);
            check(b, s, f);
            return s;
        };
        for (int p = 0; p < 40; ++p, t += 1'000'000'000) poll_at(t);
        // Past prediction_horizon (16) polls: the window lengths are being scored.
        ASSERT_GE(f.samples_in_window(), 16);
        const int64_t other_end = start < 0 ? kMax - 1'000'000 : kMin + 1'000'000;
        for (int p = 0; p < 3; ++p) poll_at(other_end + p * 1000);
        for (int p = 0; p < 3; ++p) poll_at(start + 40'000'000'000 + p * 1'000'000'000);

        // One batch whose readings lie at both ends at once.
        Batch spread;
        spread.readings = {{kMin, kMin + 10, kMin + 1}, {kMax - 1, kMax - 10, kMax}};
        check(spread, f.process(spread), f);
        Batch same_delay;
        same_delay.readings = {{kMin + 2, kMin, kMin + 2}, {kMax - 2, kMax, kMax - 2}};
        check(same_delay, f.process(same_delay), f);
        if (HasFatalFailure()) return;
    }
}

// Plausible traces with random resets, huge offsets and clock steps backwards: the
// filter keeps producing samples close to the readings.
TEST(RobustRandom, LabTracesWithStepsBackwardsAndResetsStayClose) {
    for (uint64_t seed = 1; seed <= 60; ++seed) {
        Rng rng(seed * 977);
        lab::ScenarioConfig sc = lab::standard_scenarios()[seed % 6];
        sc.initial_offset_ns = rng.chance(0.5) ? rng.uniform(-4e18, 4e18) : rng.uniform(-1e9, 1e9);
        sc.initial_freq_ppm = rng.uniform(-500, 500);
        lab::TraceGenerator gen(sc, seed);
        RobustFilter f;
        int64_t shift = 0;  // the system clock stepped back by this much
        int failed = 0;
        for (int p = 0; p < 300; ++p) {
            Batch b = gen.next();
            if (rng.chance(0.01)) shift += static_cast<int64_t>(rng.uniform(1e6, 1e10));
            for (Reading& r : b.readings) {
                r.sys_pre_ns -= shift;
                r.sys_post_ns -= shift;
            }
            if (rng.chance(0.01)) f.reset();
            const Result<Sample> s = f.process(b);
            check(b, s, f);
            if (!s) {
                ++failed;
                continue;
            }
            const double truth = gen.truth(s->time_ns + shift) + static_cast<double>(shift);
            // Within 2 ms: the worst case is the poll after a 4.5 ms host step.
            if (std::abs(s->offset_ns - truth) > 5e6) {
                ADD_FAILURE() << "seed " << seed << " poll " << p << ": off by "
                              << s->offset_ns - truth;
                return;
            }
        }
        EXPECT_LE(failed, 12) << "seed " << seed;
    }
}

// PTP_SYS_OFFSET_PRECISE gives one cross-timestamp of delay 0 per poll: its half-delay
// says nothing about its noise (the device's, here 20 ns). Ordinary noise must never be
// taken for a step: every poll gives a sample and the window keeps growing.
TEST(RobustRandom, NoisyCrossTimestampsAreNeverTakenForSteps) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
        Rng rng(seed);
        RobustFilter f;
        int64_t t = 1'782'000'000'000'000'000;
        double sum_sq = 0;
        for (int p = 0; p < 3000; ++p) {
            t += 1'000'000'000;
            const double truth = 5'000 + 2.5e-6 * static_cast<double>(p) * 1e9;
            Batch b;
            b.readings.push_back(
                {t, t + static_cast<int64_t>(std::llround(truth + 20 * rng.normal())), t});
            const Result<Sample> s = f.process(b);
            ASSERT_TRUE(s) << "seed " << seed << " poll " << p << ": " << s.error().message;
            if (p > 300) {
                EXPECT_GE(f.samples_in_window(), 16) << "seed " << seed << " poll " << p;
                sum_sq += (s->offset_ns - truth) * (s->offset_ns - truth);
            }
        }
        EXPECT_LT(std::sqrt(sum_sq / 2699), 10.0);  // averaging beats the 20 ns noise
    }
}

// The regression helpers: an exact line is recovered exactly, a wild point barely
// moves the robust fit, at() agrees with evaluating the fit there, and the many-window
// fits agree with single plain fits.
TEST(RobustRegression, LinesOutliersAndWindows) {
    std::vector<FitPoint> pts;
    for (int i = 0; i < 40; ++i) {
        pts.push_back({-39.0 + i, 5.0 + 2.0 * (-39.0 + i), 1.0 + (i % 3), 10.0});
    }
    const LineFit exact = fit_line(pts, 0.0, true);
    EXPECT_NEAR(exact.value, 5.0, 1e-9);
    EXPECT_NEAR(exact.slope, 2.0, 1e-9);
    EXPECT_NEAR(exact.bias_bound, 10.0 * 1.0, 10.0 * 1.0 + 1e-9);  // sum|c| >= 1
    EXPECT_GE(exact.bias_bound, 10.0 - 1e-9);

    std::vector<FitPoint> noisy = pts;
    Rng rng(3);
    for (FitPoint& p : noisy) p.y += rng.normal();
    noisy[20].y += 1e6;
    const LineFit robust = fit_line(noisy, 0.0, true);
    const LineFit plain = fit_line(noisy, 0.0, false);
    EXPECT_NEAR(robust.value, 5.0, 2.0);
    EXPECT_GT(std::abs(plain.value - 5.0), 100.0);

    for (double x0 : {-50.0, -20.0, 0.0, 3.0, 30.0}) {
        const LineFit direct = fit_line(noisy, x0, false);
        const LineFit moved = at(plain, x0);
        EXPECT_NEAR(moved.value, direct.value, 1e-6);
        EXPECT_NEAR(moved.noise_stddev, direct.noise_stddev, 1e-6 * (1 + direct.noise_stddev));
        EXPECT_GE(moved.bias_bound, direct.bias_bound - 1e-9);
    }

    const int sizes[] = {4, 8, 16, 32, 64};
    const std::vector<Line> lines = fit_by_window(noisy, sizes);
    for (size_t k = 0; k < 4; ++k) {
        const std::span<const FitPoint> tail(noisy.data() + noisy.size() - sizes[k], sizes[k]);
        const LineFit f = fit_line(tail, noisy.back().x, false);
        EXPECT_NEAR(lines[k].value, f.value, 1e-6 * (1 + std::abs(f.value)));
        EXPECT_NEAR(lines[k].slope, f.slope, 1e-6 * (1 + std::abs(f.slope)));
    }
    EXPECT_TRUE(std::isnan(lines[4].value));  // only 40 points

    EXPECT_FALSE(fit_line({}, 0.0, true).ok);
    const FitPoint one[] = {{0.0, 7.0, 1.0, 3.0}};
    const LineFit single = fit_line(one, 5.0, true);
    EXPECT_EQ(single.value, 7.0);
    EXPECT_EQ(single.slope, 0.0);
}

}  // namespace
}  // namespace vmrefclock

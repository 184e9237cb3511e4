// The plausibility gates, the step guard and the guest step watch, on hand-made batches.
#include <gtest/gtest.h>

#include <cmath>

#include "filter/plausibility.h"
#include "filter/step_guard.h"

namespace vmrefclock {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kNow = 1'790'000'000 * kSecond;  // 2026

// `n` readings 100 ns apart, each 50 ns long, of a host `offset_ns` ahead running at `rate`
// times the system clock from `start`.
Batch batch_at(int64_t start, int64_t offset_ns, double rate = 1.0, int n = 10) {
    Batch b;
    for (int i = 0; i < n; ++i) {
        const int64_t pre = start + i * 100;
        const int64_t host = start + offset_ns + std::llround(rate * (i * 100 + 25));
        b.readings.push_back({pre, host, pre + 50});
    }
    return b;
}

TEST(Plausibility, CalendarWindow) {
    PlausibilityOptions o;
    EXPECT_FALSE(check_calendar(batch_at(kNow, 0), o));
    // A guest hours (or years) behind its host is fine: only the host's time is judged.
    EXPECT_FALSE(check_calendar(batch_at(kNow, 5 * 365 * 86'400 * kSecond), o));
    auto r = check_calendar(batch_at(kNow, -kNow + 1 * kSecond), o);  // time_sec = 0
    ASSERT_TRUE(r);
    EXPECT_EQ(r->gate, "calendar");
    EXPECT_NE(r->detail.find("1970-01-01T00:00:01Z"), std::string::npos) << r->detail;
    EXPECT_TRUE(check_calendar(batch_at(kNow, INT64_MAX - kNow - kSecond), o));  // 2262
    EXPECT_EQ(utc_seconds_text(o.latest_ns), "2200-01-01T00:00:00Z");
    EXPECT_EQ(utc_seconds_text(-1), "1969-12-31T23:59:59Z");
}

TEST(Plausibility, CounterRate) {
    PlausibilityOptions o;
    const double hz = 2.596e9;
    EXPECT_FALSE(check_counter_rate({1.0 / hz, hz, 1e-6}, o));
    EXPECT_FALSE(check_counter_rate({(1 + 900e-6) / hz, hz, 1e-6}, o));  // within 1000 ppm
    EXPECT_TRUE(check_counter_rate({(1 + 1200e-6) / hz, hz, 1e-6}, o));
    // An imprecise measurement widens the bound by its uncertainty.
    EXPECT_FALSE(check_counter_rate({(1 + 1200e-6) / hz, hz, 500e-6}, o));
    // counter_period_shift = 63: ~1e-19 s per tick, time stands still.
    auto frozen = check_counter_rate({std::ldexp(1.5e19, -127), hz, 1e-6}, o);
    ASSERT_TRUE(frozen);
    EXPECT_EQ(frozen->gate, "counter-rate");
    // counter_period_frac_sec = 2^64 - 1 at shift 31: 21 % fast on this kind of machine.
    EXPECT_TRUE(check_counter_rate({std::ldexp(18446744073709551615.0, -95), hz, 1e-6}, o));
    EXPECT_TRUE(check_counter_rate({0, hz, 1e-6}, o));
    EXPECT_FALSE(check_counter_rate({1e-9, 0, 0}, o));  // nothing measured: no verdict
}

TEST(Plausibility, HostTimeMustAdvanceWithinAPoll) {
    PlausibilityOptions o;
    EXPECT_FALSE(check_advancing(batch_at(kNow, 0), o));
    // chrony slewing the system clock 8.3 % (its maximum) is well inside the width.
    EXPECT_FALSE(check_advancing(batch_at(kNow, 0, 1.083), o));
    EXPECT_FALSE(check_advancing(batch_at(kNow, 0, 0.917), o));
    auto frozen = check_advancing(batch_at(kNow, 0, 0.0), o);
    ASSERT_TRUE(frozen);
    EXPECT_EQ(frozen->gate, "frozen");
    auto back = check_advancing(batch_at(kNow, 0, -1.0), o);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->gate, "backwards");
    auto racing = check_advancing(batch_at(kNow, 0, 3.0), o);
    ASSERT_TRUE(racing);
    EXPECT_EQ(racing->gate, "racing");
    // One reading (a cross-timestamp) cannot be judged on its own.
    EXPECT_FALSE(check_advancing(batch_at(kNow, 0, 0.0, 1), o));
    // Nor a poll across which the system clock went back.
    Batch stepped = batch_at(kNow, 0, 0.0);
    stepped.readings.back().sys_pre_ns -= kSecond;
    stepped.readings.back().sys_post_ns -= kSecond;
    EXPECT_FALSE(check_advancing(stepped, o));
}

// Polls every 0.5 s; `raw` runs with the system clock here.
struct RatePolls {
    HostRateGate gate;
    int64_t t = kNow;
    int64_t host = kNow + 250'000;
    std::optional<Implausible> poll(double rate, int64_t step_ns = 0) {
        t += kSecond / 2;
        host += std::llround(rate * (kSecond / 2)) + step_ns;
        Batch b;
        b.readings.push_back({t, host, t + 200});
        return gate.observe(b, t, t - kNow + 5 * kSecond);
    }
};

TEST(Plausibility, HostRateAcrossPolls) {
    RatePolls p;
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(p.poll(1.0 + 3e-6)) << i;
    // Steps are one interval each: the median ignores them, the step detector does not.
    EXPECT_FALSE(p.poll(1.0, 4'500'000));
    EXPECT_FALSE(p.poll(1.0));
    EXPECT_FALSE(p.poll(1.0, 524 * kSecond));
    EXPECT_FALSE(p.poll(1.0));
    EXPECT_FALSE(p.poll(1.0, -524 * kSecond));
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(p.poll(1.0));
    // A host clock that stands still is refused from the third poll on (a median of 5).
    EXPECT_FALSE(p.poll(0.0));
    EXPECT_FALSE(p.poll(0.0));
    auto frozen = p.poll(0.0);
    ASSERT_TRUE(frozen);
    EXPECT_EQ(frozen->gate, "host-rate");
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(p.poll(0.0));
    // Back to a sane rate: accepted again once the median is.
    EXPECT_TRUE(p.poll(1.0));
    EXPECT_TRUE(p.poll(1.0));
    EXPECT_FALSE(p.poll(1.0));
    // 21 % fast: refused.
    for (int i = 0; i < 3; ++i) p.poll(1.21);
    EXPECT_TRUE(p.poll(1.21));
}

TEST(Plausibility, HostRateFromTheFirstInterval) {
    RatePolls p;
    EXPECT_FALSE(p.poll(0.0));  // one point: nothing to judge
    EXPECT_TRUE(p.poll(0.0));   // one interval of a frozen clock
}

TEST(Plausibility, GatesRunInOrder) {
    PlausibilityGates gates;
    Batch b = batch_at(kNow, -kNow, 0.0);  // 1970 and frozen: the calendar speaks first
    b.counter_rate = CounterRateCheck{1e-20, 2.5e9, 1e-6};
    auto r = gates.check(b, kNow, kSecond);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->gate, "calendar");
    EXPECT_EQ(r->reason().rfind("implausible host time (calendar): ", 0), 0u);
    b = batch_at(kNow, 0, 0.0);
    b.counter_rate = CounterRateCheck{1e-20, 2.5e9, 1e-6};
    EXPECT_EQ(gates.check(b, kNow, kSecond)->gate, "counter-rate");
    b.counter_rate.reset();
    EXPECT_EQ(gates.check(b, kNow, kSecond)->gate, "frozen");
}

Estimate model(double offset_ns, double ppm = 0) {
    Estimate e;
    e.time_ns = kNow;
    e.offset_ns = offset_ns;
    e.frequency_ppm = ppm;
    e.samples = 32;
    return e;
}

TEST(StepGuard, TransientIsReverted) {
    StepGuard guard;
    EXPECT_EQ(guard.observe({kNow, 0}, 0).verdict, StepGuard::Verdict::idle);
    guard.start(model(250'000, 3), {kNow + kSecond, 250'000 + 3'000 + 4'500'000}, 0);
    EXPECT_NEAR(guard.step_ns(), 4'500'000, 1);
    for (int i = 1; i <= 20; ++i) {
        const int64_t t = kNow + kSecond + i * kSecond / 2;
        EXPECT_EQ(
            guard.observe({t, 250'000 + 4'500'000 + 3e-6 * (t - kNow)}, i * kSecond / 2).verdict,
            StepGuard::Verdict::hold);
    }
    const int64_t t = kNow + 12 * kSecond;
    auto back = guard.observe({t, 250'000 + 3e-6 * (t - kNow) + 20'000}, 11 * kSecond);
    EXPECT_EQ(back.verdict, StepGuard::Verdict::reverted);
    EXPECT_NEAR(back.residual_ns, 20'000, 1);
    EXPECT_FALSE(guard.active());
}

TEST(StepGuard, StepThatHoldsIsAcceptedAfterTheProbation) {
    StepGuard guard(StepGuardOptions{10 * kSecond, 1'000'000, 1000});
    guard.start(model(0), {kNow, 524e9}, 0);
    EXPECT_EQ(guard.observe({kNow + 9 * kSecond, 524e9}, 9 * kSecond).verdict,
              StepGuard::Verdict::hold);
    EXPECT_EQ(guard.observe({kNow + 10 * kSecond, 524e9 + 50'000}, 10 * kSecond).verdict,
              StepGuard::Verdict::accepted);
    EXPECT_FALSE(guard.active());
}

TEST(StepGuard, ClockThatMovesAgainRestartsTheProbation) {
    StepGuard guard(StepGuardOptions{10 * kSecond, 1'000'000, 1000});
    guard.start(model(0), {kNow, 524e9}, 0);
    EXPECT_EQ(guard.observe({kNow + 5 * kSecond, 600e9}, 5 * kSecond).verdict,
              StepGuard::Verdict::moved);
    EXPECT_EQ(guard.observe({kNow + 12 * kSecond, 600e9}, 12 * kSecond).verdict,
              StepGuard::Verdict::hold);
    EXPECT_EQ(guard.observe({kNow + 15 * kSecond, 600e9}, 15 * kSecond).verdict,
              StepGuard::Verdict::accepted);
}

TEST(StepGuard, WithoutAModelOnlyTheProbationApplies) {
    StepGuard guard(StepGuardOptions{kSecond, 1'000'000, 1000});
    guard.start(std::nullopt, {kNow, 5e6}, 0);
    EXPECT_EQ(guard.step_ns(), 0);
    EXPECT_EQ(guard.observe({kNow, 0}, kSecond / 2).verdict, StepGuard::Verdict::moved);
    EXPECT_EQ(guard.observe({kNow, 0}, 2 * kSecond).verdict, StepGuard::Verdict::accepted);
}

TEST(StepGuard, GuestStepShiftsBothModels) {
    StepGuard guard;
    guard.start(model(0), {kNow, 524e9}, 0);
    guard.shift(-3600e9);  // the guest's clock stepped forward an hour
    EXPECT_EQ(guard.observe({kNow + kSecond, 524e9 - 3600e9}, kSecond).verdict,
              StepGuard::Verdict::hold);
    EXPECT_EQ(guard.observe({kNow + kSecond, -3600e9}, kSecond).verdict,
              StepGuard::Verdict::reverted);
}

TEST(GuestStepWatch, OnlyStepsOfRealtimeAgainstMonotonicCount) {
    GuestStepWatch watch;
    auto at = [&](int64_t mono, int64_t real, int64_t width = 50) {
        return watch.observe(mono, real, mono + width);
    };
    EXPECT_FALSE(at(100 * kSecond, kNow));
    // Slewing moves both clocks alike.
    EXPECT_FALSE(at(100 * kSecond + kSecond / 2, kNow + kSecond / 2));
    EXPECT_FALSE(at(101 * kSecond, kNow + kSecond + 500'000));
    auto step = at(102 * kSecond, kNow + 2 * kSecond + 3600 * kSecond);
    ASSERT_TRUE(step);
    EXPECT_NEAR(static_cast<double>(*step), 3600e9, 1e6);
    EXPECT_FALSE(at(103 * kSecond, kNow + 3 * kSecond + 3600 * kSecond + 500'000));
    // A preemption of 5 ms between the reads widens the bracket: no step.
    EXPECT_FALSE(at(104 * kSecond, kNow + 4 * kSecond + 3600 * kSecond + 5'000'000, 5'000'000));
    auto back = at(105 * kSecond, kNow + 5 * kSecond);
    ASSERT_TRUE(back);
    EXPECT_NEAR(static_cast<double>(*back), -3600e9, 5e6);
}

}  // namespace
}  // namespace vmrefclock

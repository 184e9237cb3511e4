#include "filter/holdoff.h"

#include <gtest/gtest.h>

#include <limits>

namespace vmrefclock {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kNow = 1000 * kSecond;
constexpr int64_t kPoll2 = 4 * kSecond;  // chrony poll 2

using Actions = HoldOff::Actions;
using Phase = HoldOff::Phase;

TEST(HoldOff, IntervalForPoll) {
    EXPECT_EQ(HoldOff::interval_for_poll(0), kSecond);
    EXPECT_EQ(HoldOff::interval_for_poll(2), 4 * kSecond);
    EXPECT_EQ(HoldOff::interval_for_poll(6), 64 * kSecond);
    EXPECT_EQ(HoldOff::interval_for_poll(-2), kSecond / 4);
    EXPECT_EQ(HoldOff::interval_for_poll(99), kSecond << 24);  // clamped
    EXPECT_EQ(HoldOff::interval_for_poll(-99), kSecond >> 7);
}

TEST(HoldOff, BurstCopiesEndAtTheSampleOneMicrosecondApart) {
    Sample s;
    s.time_ns = kNow + 123;
    s.offset_ns = 250'000.5;
    for (int k = 0; k < 4; ++k) {
        const Sample c = HoldOff::burst_copy(s, k, 4);
        EXPECT_EQ(c.time_ns, kNow + 123 - (3 - k) * 1000) << k;
        EXPECT_EQ(c.offset_ns, s.offset_ns);
    }
    EXPECT_EQ(HoldOff::burst_copy(s, 0, 1).time_ns, s.time_ns);
}

TEST(HoldOff, AStartSendsItsFirstSampleAsABurstWithoutReset) {
    HoldOff h(kPoll2);
    EXPECT_EQ(h.phase(), Phase::starting);
    EXPECT_TRUE(h.wants_burst());
    EXPECT_FALSE(h.feeding());
    EXPECT_FALSE(h.holding());
    // Not sampled fast before the first burst: a chronyd that is down is not hammered.
    EXPECT_EQ(h.sampling_interval_ns(kSecond), kSecond);
    // chronyd down: nothing changes, the next sample tries again.
    EXPECT_EQ(h.burst_sent(kNow, false), Actions{});
    EXPECT_TRUE(h.wants_burst());
    const Actions sent = h.burst_sent(kNow, true);
    EXPECT_EQ(sent, (Actions{.resumed = true}));
    EXPECT_EQ(h.phase(), Phase::recovering);
    EXPECT_TRUE(h.feeding());
    EXPECT_FALSE(h.wants_burst());
    // 8 samples per refclock poll until chrony has had 3 polls.
    EXPECT_EQ(h.sampling_interval_ns(kSecond), kSecond / 2);
    EXPECT_EQ(h.sampling_interval_ns(kSecond / 10), kSecond / 10);
}

TEST(HoldOff, DisruptionResetsHoldsSamplesUntilTheResetIsDoneThenBursts) {
    HoldOff h(kPoll2);
    h.burst_sent(kNow, true);
    h.tick(kNow + 20 * kSecond);
    ASSERT_EQ(h.phase(), Phase::steady);
    EXPECT_TRUE(h.feeding());
    EXPECT_FALSE(h.active());
    EXPECT_EQ(h.sampling_interval_ns(kSecond), kSecond);

    const int64_t t = kNow + 30 * kSecond;
    EXPECT_EQ(h.start(t), (Actions{.discard_calibration = true, .reset_chrony = true}));
    EXPECT_EQ(h.phase(), Phase::resetting);
    EXPECT_TRUE(h.holding());
    EXPECT_FALSE(h.feeding());
    EXPECT_FALSE(h.wants_burst());
    EXPECT_TRUE(h.active());
    EXPECT_EQ(h.sampling_interval_ns(kSecond), kSecond / 2);
    // Ticks while the reset runs change nothing.
    EXPECT_EQ(h.tick(t + kSecond), Actions{});
    EXPECT_TRUE(h.holding());
    // A burst before the reset is done is refused (the reset would drop it).
    EXPECT_EQ(h.burst_sent(t, true), Actions{});
    EXPECT_EQ(h.phase(), Phase::resetting);

    h.reset_done();
    EXPECT_EQ(h.phase(), Phase::awaiting_sample);
    EXPECT_FALSE(h.holding());
    EXPECT_TRUE(h.wants_burst());
    EXPECT_FALSE(h.feeding());

    const int64_t burst = t + kSecond + 10'000'000;
    EXPECT_EQ(h.burst_sent(burst, true), (Actions{.resumed = true}));
    EXPECT_TRUE(h.feeding());
    // Recovering for 3 refclock polls and a quarter: fast sampling until then.
    h.tick(burst + 13 * kSecond - 1);
    EXPECT_EQ(h.phase(), Phase::recovering);
    EXPECT_EQ(h.sampling_interval_ns(kSecond), kSecond / 2);
    h.tick(burst + 13 * kSecond);
    EXPECT_EQ(h.phase(), Phase::steady);
    EXPECT_EQ(h.sampling_interval_ns(kSecond), kSecond);
}

TEST(HoldOff, ResetDoneOutsideAResetIsIgnored) {
    HoldOff h(kPoll2);
    h.reset_done();
    EXPECT_EQ(h.phase(), Phase::starting);
    h.burst_sent(kNow, true);
    h.reset_done();
    EXPECT_EQ(h.phase(), Phase::recovering);
}

TEST(HoldOff, DisruptionInAnyPhaseStartsOver) {
    for (int at = 0; at < 4; ++at) {
        HoldOff h(kPoll2);
        h.burst_sent(kNow, true);              // recovering
        if (at >= 1) h.start(kNow + kSecond);  // resetting
        if (at >= 2) h.reset_done();           // awaiting_sample
        if (at >= 3) h.burst_sent(kNow + 2 * kSecond, true);
        const Actions again = h.start(kNow + 3 * kSecond);
        EXPECT_TRUE(again.discard_calibration) << at;
        EXPECT_TRUE(again.reset_chrony) << at;
        EXPECT_EQ(h.phase(), Phase::resetting) << at;
        EXPECT_FALSE(h.feeding()) << at;
    }
}

TEST(HoldOff, AFailedBurstAfterADisruptionIsRetriedWithTheNextSample) {
    HoldOff h(kPoll2);
    h.start(kNow);
    h.reset_done();
    EXPECT_EQ(h.burst_sent(kNow, false), Actions{});
    EXPECT_TRUE(h.wants_burst());
    EXPECT_FALSE(h.feeding());
    EXPECT_TRUE(h.burst_sent(kNow + kSecond / 2, true).resumed);
}

TEST(HoldOff, ZeroOrNegativePollAndTheEndOfTime) {
    HoldOff zero(-5);
    EXPECT_EQ(zero.chrony_poll_ns(), 0);
    zero.burst_sent(kNow, true);
    EXPECT_EQ(zero.sampling_interval_ns(kSecond), 1'000'000);  // never 0: at least 1 ms
    zero.tick(kNow);
    EXPECT_EQ(zero.phase(), Phase::steady);

    const int64_t max = std::numeric_limits<int64_t>::max();
    HoldOff h(64 * kSecond);
    h.burst_sent(max - kSecond, true);
    h.tick(max - 1);
    EXPECT_EQ(h.phase(), Phase::recovering);
    h.tick(max);
    EXPECT_EQ(h.phase(), Phase::steady);
}

}  // namespace
}  // namespace vmrefclock

#include "filter/holdoff.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace vmrefclock {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
// A CLOCK_MONOTONIC-like time some days after boot.
constexpr int64_t kNow = 345'678 * kSecond;

using Actions = HoldOff::Actions;

TEST(HoldOff, IntervalForPoll) {
    EXPECT_EQ(HoldOff::interval_for_poll(0), kSecond);
    EXPECT_EQ(HoldOff::interval_for_poll(2), 4 * kSecond);
    EXPECT_EQ(HoldOff::interval_for_poll(6), 64 * kSecond);
    EXPECT_EQ(HoldOff::interval_for_poll(-2), kSecond / 4);
    EXPECT_EQ(HoldOff::interval_for_poll(99), kSecond << 24);  // clamped
    EXPECT_EQ(HoldOff::interval_for_poll(-99), kSecond >> 7);
}

TEST(HoldOff, FeedsUntilADisruption) {
    HoldOff h(4 * kSecond);
    EXPECT_FALSE(h.active());
    EXPECT_TRUE(h.feeding(kNow));
    EXPECT_EQ(h.tick(kNow), Actions{});
    EXPECT_FALSE(h.tick(kNow).any());
}

TEST(HoldOff, Sequence) {
    HoldOff h(4 * kSecond);  // chrony poll 2

    // Disruption: discard and reset now, stop feeding.
    const Actions at_start = h.start(kNow);
    EXPECT_TRUE(at_start.discard_calibration);
    EXPECT_TRUE(at_start.reset_chrony);
    EXPECT_FALSE(at_start.resumed);
    EXPECT_TRUE(h.active());
    EXPECT_FALSE(h.feeding(kNow));
    EXPECT_EQ(h.end_ns(), kNow + 4 * kSecond);

    // Polls during hold-off: nothing, still not feeding.
    for (int64_t t = kNow + kSecond; t < kNow + 4 * kSecond; t += kSecond) {
        EXPECT_EQ(h.tick(t), Actions{}) << t - kNow;
        EXPECT_FALSE(h.feeding(t));
    }
    EXPECT_EQ(h.tick(kNow + 4 * kSecond - 1), Actions{});
    // Past the end but not yet ticked: still not feeding (the second reset comes first).
    EXPECT_FALSE(h.feeding(kNow + 5 * kSecond));

    // The first poll at/after the end: reset chrony again and resume.
    const Actions at_end = h.tick(kNow + 4 * kSecond + 3);
    EXPECT_FALSE(at_end.discard_calibration);
    EXPECT_TRUE(at_end.reset_chrony);
    EXPECT_TRUE(at_end.resumed);
    EXPECT_FALSE(h.active());
    EXPECT_TRUE(h.feeding(kNow + 4 * kSecond + 3));

    // Only once.
    EXPECT_EQ(h.tick(kNow + 5 * kSecond), Actions{});
    EXPECT_TRUE(h.feeding(kNow + 5 * kSecond));
}

TEST(HoldOff, EndsExactlyAtTheEnd) {
    HoldOff h(kSecond);
    h.start(kNow);
    EXPECT_TRUE(h.tick(kNow + kSecond).resumed);
}

TEST(HoldOff, DisruptionDuringHoldOffRestartsIt) {
    HoldOff h(4 * kSecond);
    h.start(kNow);
    EXPECT_EQ(h.tick(kNow + 3 * kSecond), Actions{});
    const Actions again = h.start(kNow + 3 * kSecond);
    EXPECT_TRUE(again.discard_calibration);
    EXPECT_TRUE(again.reset_chrony);
    EXPECT_EQ(h.end_ns(), kNow + 7 * kSecond);
    // The first hold-off's end passes without resuming.
    EXPECT_EQ(h.tick(kNow + 4 * kSecond), Actions{});
    EXPECT_FALSE(h.feeding(kNow + 4 * kSecond));
    EXPECT_EQ(h.tick(kNow + 6 * kSecond), Actions{});
    const Actions end = h.tick(kNow + 7 * kSecond);
    EXPECT_TRUE(end.reset_chrony);
    EXPECT_TRUE(end.resumed);
    EXPECT_TRUE(h.feeding(kNow + 7 * kSecond));
}

TEST(HoldOff, ZeroOrNegativeHoldOffResumesOnTheNextTick) {
    HoldOff h(-5);
    EXPECT_EQ(h.holdoff_ns(), 0);
    h.start(kNow);
    EXPECT_FALSE(h.feeding(kNow));
    const Actions a = h.tick(kNow);
    EXPECT_TRUE(a.reset_chrony);
    EXPECT_TRUE(a.resumed);
    EXPECT_TRUE(h.feeding(kNow));
}

TEST(HoldOff, NoOverflowNearTheEndOfTime) {
    const int64_t max = std::numeric_limits<int64_t>::max();
    HoldOff h(64 * kSecond);
    h.start(max - kSecond);
    EXPECT_EQ(h.end_ns(), max);
    EXPECT_EQ(h.tick(max - 1), Actions{});
    EXPECT_TRUE(h.tick(max).resumed);
}

}  // namespace
}  // namespace vmrefclock

#include "tests/sim/lab/sample_selector.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

namespace vmrefclock::lab {
namespace {

// 2026-06-01T00:00:00Z in ns: realistic magnitudes catch int64/double precision loss.
constexpr int64_t kT0 = 1'780'272'000'000'000'000;

// A reading whose reference was read exactly at the midpoint, with the given offset.
Reading make_reading(int64_t pre, int64_t delay, int64_t offset) {
    Reading r;
    r.sys_pre_ns = pre;
    r.sys_post_ns = pre + delay;
    r.ref_ns = r.sys_mid_ns() + offset;
    return r;
}

TEST(SampleSelector, UsesOnlyTheLowestDelayReadings) {
    Batch b;
    b.precision_ns = 1;
    // Ten readings; the three fastest carry offsets 100, 102, 104, the slow ones a wildly
    // different offset that must not leak into the result.
    const int64_t delays[10] = {500, 40, 600, 700, 30, 800, 900, 50, 1000, 1100};
    for (int i = 0; i < 10; ++i) {
        const bool fast = delays[i] <= 50;
        const int64_t offset = fast ? 100 + (delays[i] - 30) / 5 : 999'999;
        b.readings.push_back(make_reading(kT0 + i * 2000, delays[i], offset));
    }
    auto s = SampleSelector().select(b);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s->readings_used, 3);
    EXPECT_DOUBLE_EQ(s->offset_ns, (100.0 + 102.0 + 104.0) / 3.0);
    EXPECT_EQ(s->delay_ns, 50);
    EXPECT_EQ(s->error_ns, 25);
    // Mean of the midpoints of readings 1, 4 and 7.
    const int64_t m1 = kT0 + 2000 + 20, m4 = kT0 + 8000 + 15, m7 = kT0 + 14000 + 25;
    EXPECT_EQ(s->time_ns, m1 + ((m4 - m1) + (m7 - m1)) / 3);
    EXPECT_EQ(s->leap, Leap::none);
}

TEST(SampleSelector, KeepsAtLeastOneReading) {
    Batch b;
    b.readings.push_back(make_reading(kT0, 80, -1234));
    b.readings.push_back(make_reading(kT0 + 1000, 60, -1000));
    auto s = SampleSelector().select(b);  // 30 % of 2 is 0.6: still one
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->readings_used, 1);
    EXPECT_DOUBLE_EQ(s->offset_ns, -1000.0);
    EXPECT_EQ(s->time_ns, kT0 + 1030);
}

TEST(SampleSelector, KeepFractionIsConfigurable) {
    Batch b;
    for (int i = 0; i < 4; ++i) b.readings.push_back(make_reading(kT0 + i * 1000, 100 + i, i * 10));
    auto s = SampleSelector(SampleSelectorOptions{.max_delay_ns = 10'000'000, .keep_fraction = 1.0})
                 .select(b);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->readings_used, 4);
    EXPECT_DOUBLE_EQ(s->offset_ns, 15.0);
    EXPECT_EQ(s->delay_ns, 103);
}

TEST(SampleSelector, RejectsNegativeDelay) {
    Batch b;
    // The negative-delay reading has the lowest "delay" and an absurd offset: it would
    // win the sort if it were not rejected.
    Reading stepped;
    stepped.sys_pre_ns = kT0 + 1'000'000;
    stepped.sys_post_ns = kT0;  // the clock went back 1 ms during the read
    stepped.ref_ns = kT0 + 5'000'000'000;
    b.readings.push_back(stepped);
    b.readings.push_back(make_reading(kT0 + 2000, 70, 42));
    auto s = SampleSelector().select(b);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->readings_used, 1);
    EXPECT_DOUBLE_EQ(s->offset_ns, 42.0);
}

TEST(SampleSelector, RejectsAbsurdDelay) {
    Batch b;
    b.readings.push_back(make_reading(kT0, 20'000'000, 7));  // 20 ms: above the 10 ms default
    b.readings.push_back(make_reading(kT0 + 30'000'000, 9'000'000, 9));
    auto s = SampleSelector().select(b);
    ASSERT_TRUE(s.ok());
    EXPECT_DOUBLE_EQ(s->offset_ns, 9.0);
    EXPECT_EQ(s->error_ns, 4'500'000);

    auto strict = SampleSelector(SampleSelectorOptions{.max_delay_ns = 1000}).select(b);
    ASSERT_FALSE(strict.ok());
    EXPECT_NE(strict.error().message.find("delay above 1000 ns"), std::string::npos)
        << strict.error().message;
}

TEST(SampleSelector, AllRejectedIsAnErrorSayingWhy) {
    Batch b;
    Reading stepped = make_reading(kT0, 100, 0);
    std::swap(stepped.sys_pre_ns, stepped.sys_post_ns);
    b.readings = {stepped, stepped, make_reading(kT0, 50'000'000, 0)};
    auto s = SampleSelector().select(b);
    ASSERT_FALSE(s.ok());
    const std::string& m = s.error().message;
    EXPECT_NE(m.find("all 3 readings rejected"), std::string::npos) << m;
    EXPECT_NE(m.find("2 with negative delay"), std::string::npos) << m;
    EXPECT_NE(m.find("1 with delay above 10000000 ns"), std::string::npos) << m;
}

TEST(SampleSelector, EmptyBatchIsAnError) {
    auto s = SampleSelector().select(Batch{});
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("empty"), std::string::npos) << s.error().message;
}

TEST(SampleSelector, UnusableSourceIsAnErrorWithItsReason) {
    Batch b;
    b.unusable_reason = "vmclock page carries no time (counter_id INVALID)";
    auto s = SampleSelector().select(b);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().message,
              "source unusable: vmclock page carries no time (counter_id INVALID)");
}

TEST(SampleSelector, ErrorIsNeverBelowPrecision) {
    Batch b;
    b.precision_ns = 8;
    b.readings.push_back(make_reading(kT0, 0, 5));  // a cross-timestamp: delay 0
    auto s = SampleSelector().select(b);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->delay_ns, 0);
    EXPECT_EQ(s->error_ns, 8);
    EXPECT_EQ(s->time_ns, kT0);
}

TEST(SampleSelector, NoPrecisionLossAtLargeTimePointsAndOffsets) {
    // A guest booted with its clock years off: offset ~ 1e17 ns. Offsets 1 ns apart
    // must still average exactly, which summing raw int64 -> double would not do.
    Batch b;
    const int64_t big = 100'000'000'000'000'000;
    b.readings.push_back(make_reading(kT0, 30, big + 1));
    b.readings.push_back(make_reading(kT0 + 1000, 30, big + 2));
    b.readings.push_back(make_reading(kT0 + 2000, 30, big + 4));
    auto s = SampleSelector(SampleSelectorOptions{.keep_fraction = 1.0}).select(b);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->time_ns, kT0 + 1015);
    // The result is a double (16 ns resolution at 1e17), but it must be the nearest
    // double to big + 7/3, not something hundreds of ns away.
    EXPECT_NEAR(s->offset_ns - static_cast<double>(big), 7.0 / 3.0, 16.0);
}

}  // namespace
}  // namespace vmrefclock::lab

#include "filter/disruption_monitor.h"

#include <gtest/gtest.h>

#include <string>

namespace vmrefclock {
namespace {

HostInfo host(uint64_t marker, std::optional<uint64_t> generation,
              ClockStatus status = ClockStatus::synchronized) {
    HostInfo h;
    h.disruption_marker = marker;
    h.vm_generation = generation;
    h.clock_status = status;
    return h;
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

TEST(DisruptionMonitor, CauseNames) {
    EXPECT_STREQ(to_string(Disruption::Cause::marker), "marker");
    EXPECT_STREQ(to_string(Disruption::Cause::generation), "generation");
    EXPECT_STREQ(to_string(Disruption::Cause::unreliable), "unreliable");
}

TEST(DisruptionMonitor, FirstObservationOnlyRemembers) {
    DisruptionMonitor m;
    // Even an unreliable host with arbitrary counters is no disruption on first sight.
    EXPECT_FALSE(m.observe(host(17, 3, ClockStatus::unreliable)).has_value());
    EXPECT_FALSE(m.observe(host(17, 3, ClockStatus::unreliable)).has_value());
}

TEST(DisruptionMonitor, UnchangedIsQuiet) {
    DisruptionMonitor m;
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(m.observe(host(4, 9)).has_value());
}

TEST(DisruptionMonitor, MarkerChange) {
    DisruptionMonitor m;
    m.observe(host(4, 9));
    auto d = m.observe(host(5, 9));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, Disruption::Cause::marker);
    EXPECT_TRUE(contains(d->detail, "disruption marker 4 -> 5")) << d->detail;
    // Reported once; the new value is the new baseline.
    EXPECT_FALSE(m.observe(host(5, 9)).has_value());
    // Any change counts, including going down (wrap, a different host's counter).
    auto d2 = m.observe(host(1, 9));
    ASSERT_TRUE(d2.has_value());
    EXPECT_EQ(d2->cause, Disruption::Cause::marker);
}

TEST(DisruptionMonitor, GenerationChange) {
    DisruptionMonitor m;
    m.observe(host(4, 9));
    auto d = m.observe(host(4, 10));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, Disruption::Cause::generation);
    EXPECT_TRUE(contains(d->detail, "vm generation 9 -> 10")) << d->detail;
    EXPECT_FALSE(contains(d->detail, "marker")) << d->detail;
    EXPECT_FALSE(m.observe(host(4, 10)).has_value());
}

TEST(DisruptionMonitor, BothChangedReportsGenerationMentioningBoth) {
    DisruptionMonitor m;
    m.observe(host(4, 9));
    auto d = m.observe(host(6, 11));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, Disruption::Cause::generation);
    EXPECT_TRUE(contains(d->detail, "vm generation 9 -> 11")) << d->detail;
    EXPECT_TRUE(contains(d->detail, "disruption marker 4 -> 6")) << d->detail;
}

TEST(DisruptionMonitor, GenerationOnlyComparedWhenPresentOnBoth) {
    DisruptionMonitor m;
    m.observe(host(4, std::nullopt));
    EXPECT_FALSE(m.observe(host(4, 9)).has_value());             // appears: nothing to compare with
    EXPECT_FALSE(m.observe(host(4, std::nullopt)).has_value());  // disappears
    // Comes back changed: compared with the last value seen, so still a restore.
    auto d = m.observe(host(4, 10));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, Disruption::Cause::generation);
}

TEST(DisruptionMonitor, UnreliableOnlyOnTheTransition) {
    DisruptionMonitor m;
    m.observe(host(4, 9, ClockStatus::synchronized));
    auto d = m.observe(host(4, 9, ClockStatus::unreliable));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, Disruption::Cause::unreliable);
    EXPECT_TRUE(contains(d->detail, "unreliable")) << d->detail;
    // Staying unreliable: no further disruption on later polls.
    EXPECT_FALSE(m.observe(host(4, 9, ClockStatus::unreliable)).has_value());
    EXPECT_FALSE(m.observe(host(4, 9, ClockStatus::unreliable)).has_value());
    // Recovering is no disruption; becoming unreliable again is.
    EXPECT_FALSE(m.observe(host(4, 9, ClockStatus::freerunning)).has_value());
    auto again = m.observe(host(4, 9, ClockStatus::unreliable));
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->cause, Disruption::Cause::unreliable);
}

TEST(DisruptionMonitor, UnreliableFromAnyOtherStatus) {
    for (ClockStatus from : {ClockStatus::unknown, ClockStatus::initializing,
                             ClockStatus::synchronized, ClockStatus::freerunning}) {
        DisruptionMonitor m;
        m.observe(host(1, std::nullopt, from));
        auto d = m.observe(host(1, std::nullopt, ClockStatus::unreliable));
        ASSERT_TRUE(d.has_value()) << static_cast<int>(from);
        EXPECT_EQ(d->cause, Disruption::Cause::unreliable);
    }
}

TEST(DisruptionMonitor, MarkerBeatsUnreliableAndDetailMentionsBoth) {
    DisruptionMonitor m;
    m.observe(host(4, std::nullopt, ClockStatus::synchronized));
    auto d = m.observe(host(5, std::nullopt, ClockStatus::unreliable));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, Disruption::Cause::marker);
    EXPECT_TRUE(contains(d->detail, "unreliable")) << d->detail;
    // The transition was consumed with the marker change.
    EXPECT_FALSE(m.observe(host(5, std::nullopt, ClockStatus::unreliable)).has_value());
}

TEST(DisruptionMonitor, ForgetStartsOver) {
    DisruptionMonitor m;
    m.observe(host(4, 9));
    m.forget();
    EXPECT_FALSE(m.observe(host(100, 200, ClockStatus::unreliable)).has_value());
    auto d = m.observe(host(101, 200, ClockStatus::unreliable));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->cause, Disruption::Cause::marker);
}

}  // namespace
}  // namespace vmrefclock

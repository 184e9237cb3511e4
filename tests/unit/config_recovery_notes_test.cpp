#include "config/recovery_notes.h"

#include <gtest/gtest.h>

namespace vmrefclock {
namespace {

bool mentions(const std::vector<std::string>& notes, const std::string& text) {
    for (const auto& n : notes) {
        if (n.find(text) != std::string::npos) return true;
    }
    return false;
}

TEST(RecoveryNotes, DefaultsAndOneSecondReachTheGoal) {
    Config config;
    EXPECT_TRUE(recovery_notes(config).empty());
    config.source.interval_s = 1;
    EXPECT_TRUE(recovery_notes(config).empty());
}

TEST(RecoveryNotes, NoResetIsReportedWithTheMeasuredFigure) {
    Config config;
    config.chrony.control_socket = "";
    auto notes = recovery_notes(config);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_TRUE(mentions(notes, "26-27 s")) << notes[0];
    EXPECT_TRUE(mentions(notes, "12 s (3 refclock polls)")) << notes[0];
}

TEST(RecoveryNotes, APhcWithoutPageNoticesDisruptionsTwoPollsLate) {
    Config config;
    config.source.type = SourceKind::ptp;
    config.disruption.vmclock = "";
    auto notes = recovery_notes(config);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_TRUE(mentions(notes, "up to 13 s")) << notes[0];
    config.disruption.vmclock = "/dev/vmclock0";  // a page beside it is read every 50 ms
    EXPECT_TRUE(recovery_notes(config).empty());
}

TEST(RecoveryNotes, LongIntervalsStarveChronyBefore47) {
    Config config;
    config.source.interval_s = 2;
    EXPECT_TRUE(mentions(recovery_notes(config), "fewer than 4 samples per 4 s refclock poll"));
    config.chrony.poll = 4;  // 16-s polls: 8 samples
    EXPECT_TRUE(recovery_notes(config).empty());
}

}  // namespace
}  // namespace vmrefclock

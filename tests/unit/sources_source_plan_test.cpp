// When a device refused at open asks for a restart of the service.
#include <gtest/gtest.h>

#include <cerrno>

#include "sources/source_plan.h"

namespace vmrefclock {
namespace {

// A device refused with EPERM that was not there at start: only a restart helps (the
// unit's DeviceAllow= was resolved before it existed). Anything else is waited out.
TEST(DeviceAfterStart, OnlyANewDeviceRefusedByTheCgroupAsksForARestart) {
    const std::set<std::string> at_start = {"/dev/ptp0"};
    EXPECT_TRUE(device_appeared_after_start(make_error("open", EPERM), "/dev/vmclock0", at_start));
    EXPECT_FALSE(device_appeared_after_start(make_error("open", EPERM), "/dev/ptp0", at_start));
    EXPECT_FALSE(
        device_appeared_after_start(make_error("open", EACCES), "/dev/vmclock0", at_start));
    EXPECT_FALSE(
        device_appeared_after_start(make_error("open", ENOENT), "/dev/vmclock0", at_start));
    EXPECT_FALSE(device_appeared_after_start(make_error("none", EPERM), "", at_start));
    EXPECT_EQ(kRestartExitStatus, 75);
}

}  // namespace
}  // namespace vmrefclock

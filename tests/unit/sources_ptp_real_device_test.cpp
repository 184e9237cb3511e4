// PtpSource against a real /dev/ptp* where the machine has one; skipped where it has none
// (or the test may not open it). Checks only what holds for any PHC: the method is found,
// readings are ordered, and the host's UTC is within a day of ours.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "sources/ptp/ptp_source.h"

namespace vmrefclock {
namespace {

std::string clock_name_of(const std::filesystem::path& dev) {
    std::ifstream in("/sys/class/ptp/" + dev.filename().string() + "/clock_name");
    std::string name;
    std::getline(in, name);
    return name;
}

TEST(PtpRealDevice, PollsEveryPhcOnThisMachine) {
    std::vector<std::filesystem::path> devices;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/dev", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("ptp", 0) == 0) devices.push_back(entry.path());
    }
    if (devices.empty()) GTEST_SKIP() << "no /dev/ptp* on this machine";

    int polled = 0;
    for (const auto& dev : devices) {
        PtpSourceOptions options;
        options.path = dev.string();
        options.clock_name = clock_name_of(dev);
        auto source = PtpSource::open(make_system_ptp_device_io(), options);
        if (!source && (source.error().code == EACCES || source.error().code == EPERM)) {
            continue;  // not root: nothing to learn from this one
        }
        ASSERT_TRUE(source) << source.error().message;
        auto batch = (*source)->poll(10);
        ASSERT_TRUE(batch) << (*source)->describe() << ": " << batch.error().message;
        ASSERT_FALSE(batch->readings.empty());
        for (const Reading& r : batch->readings) {
            EXPECT_LT(r.delay_ns(), 1'000'000'000) << (*source)->describe();
        }
        // A NIC's PHC may run TAI or an arbitrary epoch; only a VM host clock is UTC.
        const std::string& name = options.clock_name;
        if (name == "KVM virtual PTP" || name.rfind("vmclock", 0) == 0) {
            EXPECT_LT(std::llabs(batch->readings[0].offset_ns()), 86'400'000'000'000LL)
                << (*source)->describe();
        }
        std::cout << (*source)->describe() << ": offset " << batch->readings[0].offset_ns()
                  << " ns\n";
        ++polled;
    }
    if (polled == 0) GTEST_SKIP() << "no /dev/ptp* this test may open (run as root)";
}

}  // namespace
}  // namespace vmrefclock

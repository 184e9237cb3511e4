// VmclockSignal's notification fd: only with NOTIFICATION_PRESENT; a FIFO stand-in for
// tests; acknowledging drains it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "sources/vmclock/vmclock_source.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

using test::TempDir;

void write_page(const std::string& path, uint64_t flags) {
    unsigned char bytes[4096] = {};
    auto& abi = *reinterpret_cast<vmclock::Abi*>(bytes);
    abi.magic = vmclock::kMagic;
    abi.size = 4096;
    abi.version = 1;
    abi.counter_id = vmclock::kCounterInvalid;
    abi.disruption_marker = 5;
    abi.flags = flags;
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes), 4096);
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST(VmclockNotify, OnlyWithTheFlag) {
    TempDir dir;
    write_page(dir.file("page"), 0);
    ASSERT_EQ(mkfifo(dir.file("fifo").c_str(), 0600), 0);
    auto signal = VmclockSignal::open(dir.file("page"), dir.file("fifo"));
    ASSERT_TRUE(signal) << signal.error().message;
    EXPECT_EQ((*signal)->notification_fd(), -1) << "no NOTIFICATION_PRESENT: nothing to watch";

    write_page(dir.file("page"), vmclock::kFlagNotificationPresent);
    auto device = VmclockSignal::open(dir.file("page"));
    ASSERT_TRUE(device);
    EXPECT_GE((*device)->notification_fd(), 0) << "the page's own fd";
}

TEST(VmclockNotify, FifoStandInIsDrainedByTheAcknowledgement) {
    TempDir dir;
    write_page(dir.file("page"), vmclock::kFlagNotificationPresent);
    ASSERT_EQ(mkfifo(dir.file("fifo").c_str(), 0600), 0);
    auto signal = VmclockSignal::open(dir.file("page"), dir.file("fifo"));
    ASSERT_TRUE(signal);
    const int fd = (*signal)->notification_fd();
    ASSERT_GE(fd, 0);
    EXPECT_FALSE(readable(fd));
    const int writer = ::open(dir.file("fifo").c_str(), O_WRONLY | O_NONBLOCK);
    ASSERT_GE(writer, 0);
    ASSERT_EQ(write(writer, "uuu", 3), 3);  // three updates before the daemon woke
    EXPECT_TRUE(readable(fd));
    (*signal)->acknowledge_notification();
    EXPECT_FALSE(readable(fd));
    auto host = (*signal)->read_host();
    ASSERT_TRUE(host);
    EXPECT_EQ(host->disruption_marker, 5u);
    close(writer);
}

TEST(VmclockNotify, MissingStandInIsAClearError) {
    TempDir dir;
    write_page(dir.file("page"), vmclock::kFlagNotificationPresent);
    auto signal = VmclockSignal::open(dir.file("page"), dir.file("absent"));
    ASSERT_FALSE(signal);
    EXPECT_NE(signal.error().message.find(dir.file("absent")), std::string::npos)
        << signal.error().message;
}

}  // namespace
}  // namespace vmrefclock

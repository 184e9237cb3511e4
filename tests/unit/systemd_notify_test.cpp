// Notifier against a fake NOTIFY_SOCKET: a unix datagram socket bound in the test.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "systemd/notify.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

class FakeNotifySocket : public ::testing::Test {
  protected:
    void SetUp() override {
        path_ = tmp_.file("notify.sock");
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strcpy(addr.sun_path, path_.c_str());
        ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        setenv("NOTIFY_SOCKET", path_.c_str(), 1);
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
    }
    void TearDown() override {
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        close(fd_);
    }
    // Every datagram that arrived, in order.
    std::vector<std::string> received() {
        std::vector<std::string> out;
        pollfd p{fd_, POLLIN, 0};
        while (poll(&p, 1, 100) > 0) {
            char buf[4096];
            ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) break;
            out.emplace_back(buf, static_cast<size_t>(n));
        }
        return out;
    }
    test::TempDir tmp_{"vmr_notify"};
    std::string path_;
    int fd_ = -1;
};

TEST_F(FakeNotifySocket, MessagesArriveInOrder) {
    Notifier n;
    EXPECT_TRUE(n.enabled());
    EXPECT_FALSE(n.watchdog_interval_ns());
    n.status("starting");
    n.ready();
    n.status("ok, offset +1.2 µs");
    n.status("ok, offset +1.2 µs");  // unchanged: not resent
    n.watchdog();
    n.reloading();
    n.ready();
    n.stopping();
    std::vector<std::string> got = received();
    ASSERT_EQ(got.size(), 7u);
    EXPECT_EQ(got[0], "STATUS=starting");
    EXPECT_EQ(got[1], "READY=1");
    EXPECT_EQ(got[2], "STATUS=ok, offset +1.2 µs");
    EXPECT_EQ(got[3], "WATCHDOG=1");
    EXPECT_EQ(got[4].rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << got[4];
    EXPECT_GT(std::stoll(got[4].substr(std::strlen("RELOADING=1\nMONOTONIC_USEC="))), 0);
    EXPECT_EQ(got[5], "READY=1");
    EXPECT_EQ(got[6], "STOPPING=1");
}

TEST_F(FakeNotifySocket, WatchdogIntervalAndRateLimit) {
    setenv("WATCHDOG_USEC", "30000000", 1);
    setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    Notifier n;
    ASSERT_TRUE(n.watchdog_interval_ns());
    EXPECT_EQ(*n.watchdog_interval_ns(), 30'000'000'000);
    for (int i = 0; i < 10; ++i) n.watchdog();  // one poll after another, 0 s apart
    EXPECT_EQ(received(), std::vector<std::string>{"WATCHDOG=1"});
    unsetenv("WATCHDOG_PID");
}

TEST_F(FakeNotifySocket, WatchdogForAnotherPidIsOff) {
    setenv("WATCHDOG_USEC", "30000000", 1);
    setenv("WATCHDOG_PID", "1", 1);
    Notifier n;
    EXPECT_FALSE(n.watchdog_interval_ns());
    unsetenv("WATCHDOG_PID");
}

TEST(Notifier, NoSocketMeansNoOp) {
    unsetenv("NOTIFY_SOCKET");
    Notifier n;
    EXPECT_FALSE(n.enabled());
    n.ready();  // must not fail or block
    n.status("x");
    n.watchdog();
    n.stopping();
}

}  // namespace
}  // namespace vmrefclock

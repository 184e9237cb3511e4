// vmclock notifications through a seam: an eventfd or a pipe stands in for the device.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>

#include "daemon/host_notifications.h"
#include "sources/system_clock.h"

namespace vmrefclock {
namespace {

class FakeSignal : public HostSignal {
  public:
    explicit FakeSignal(int fd) : fd_(fd) {}
    Result<HostInfo> read_host() override {
        ++reads;
        HostInfo h;
        h.disruption_marker = marker;
        return h;
    }
    std::string describe() const override { return "fake page"; }
    int notification_fd() override { return fd_; }
    void acknowledge_notification() override {
        ++acks;
        uint64_t v = 0;
        [[maybe_unused]] ssize_t n = read(fd_, &v, sizeof v);
    }
    uint64_t marker = 1;
    int reads = 0;
    int acks = 0;

  private:
    int fd_;
};

// Runs the loop until `stop_after_ns` has passed.
void run_for(EventLoop& loop, int64_t ns) {
    Timer stop(loop, [&loop] { loop.stop(); });
    ASSERT_TRUE(stop.arm(ns, 0));
    ASSERT_TRUE(loop.run());
}

TEST(HostNotifications, EachUpdateIsReadAtOnce) {
    EventLoop loop;
    const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    auto owned = std::make_unique<FakeSignal>(fd);
    FakeSignal& signal = *owned;
    std::vector<uint64_t> markers;
    int64_t seen_at_ns = 0;
    HostNotifications notifications(loop, std::move(owned), [&](const HostInfo& host) {
        markers.push_back(host.disruption_marker);
        seen_at_ns = read_clock_ns(CLOCK_MONOTONIC);
    });
    ASSERT_TRUE(notifications.start());
    EXPECT_TRUE(notifications.active());

    // The host updates the page (new marker), then the device becomes readable.
    int64_t updated_at_ns = 0;
    Timer host(loop, [&] {
        signal.marker = 2;
        updated_at_ns = read_clock_ns(CLOCK_MONOTONIC);
        const uint64_t one = 1;
        ASSERT_EQ(write(fd, &one, sizeof one), 8);
    });
    ASSERT_TRUE(host.arm(10'000'000, 0));
    run_for(loop, 100'000'000);
    ASSERT_EQ(markers.size(), 1u) << "one update, one callback: the fd was acknowledged";
    EXPECT_EQ(markers[0], 2u);
    EXPECT_EQ(signal.acks, 1);
    EXPECT_EQ(notifications.notifications(), 1u);
    std::printf("notification to callback: %.3f ms\n",
                static_cast<double>(seen_at_ns - updated_at_ns) / 1e6);
    EXPECT_LT(seen_at_ns - updated_at_ns, 50'000'000);
    close(fd);
}

TEST(HostNotifications, HangupStopsTheWatchInsteadOfSpinning) {
    EventLoop loop;
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    close(fds[1]);  // no writer: the read end reports POLLHUP forever
    int callbacks = 0;
    auto owned = std::make_unique<FakeSignal>(fds[0]);
    FakeSignal& signal = *owned;
    HostNotifications notifications(loop, std::move(owned), [&](const HostInfo&) { ++callbacks; });
    ASSERT_TRUE(notifications.start());
    run_for(loop, 50'000'000);
    EXPECT_FALSE(notifications.active());
    EXPECT_EQ(callbacks, 0);
    EXPECT_EQ(signal.acks, 0);
    EXPECT_EQ(signal.reads, 0);
    close(fds[0]);
}

TEST(HostNotifications, NothingToWatchWithoutTheFlag) {
    EventLoop loop;
    HostNotifications notifications(loop, std::make_unique<FakeSignal>(-1), [](const HostInfo&) {});
    EXPECT_FALSE(notifications.start());
    EXPECT_FALSE(notifications.active());
    HostNotifications none(loop, nullptr, [](const HostInfo&) {});
    EXPECT_FALSE(none.start());
}

}  // namespace
}  // namespace vmrefclock

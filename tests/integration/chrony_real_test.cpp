// ChronySockSink and ChronyControl against a real, private chronyd (-x: the system
// clock is never touched): samples make the refclock reachable, the sink finds a
// restarted chronyd by itself, and "reset sources" is answered.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "ipc/chrony/chrony_control.h"
#include "ipc/chrony/chrony_sock.h"
#include "ipc/sys/event_loop.h"
#include "sources/system_clock.h"
#include "tests/integration/harness.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class RealChronyd : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "chronyd -u root needs root";
        chrony_ = std::make_unique<Chrony>(dir_, 2);
    }

    TempDir dir_;
    std::unique_ptr<Chrony> chrony_;
};

// Feeds 2 Hz samples until chronyd reports the refclock reachable; its reach or "".
std::string feed_until_reachable(const Chrony& chrony, ChronySockSink& sink,
                                 std::chrono::seconds limit) {
    const auto t0 = Clock::now();
    auto next_check = t0 + 4s;
    std::string reach;
    while (Clock::now() - t0 < limit) {
        Sample s;
        s.time_ns = realtime_ns();
        s.offset_ns = 50'000;  // reference 50 us ahead of the system clock
        auto st = sink.send(s, read_clock_ns(CLOCK_MONOTONIC));
        EXPECT_TRUE(st.ok()) << st.error().message;
        std::this_thread::sleep_for(500ms);
        if (Clock::now() >= next_check) {
            reach = chrony.reach();
            if (!reach.empty() && reach != "0") return reach;
            next_check += 1s;
        }
    }
    return reach;
}

TEST_F(RealChronyd, RefclockBecomesReachable) {
    ChronySockSink sink(chrony_->sock_path());
    const auto t0 = Clock::now();
    const std::string reach = feed_until_reachable(*chrony_, sink, 20s);
    std::printf("refclock reachable after %.1f s, %llu samples, reach %s\n",
                std::chrono::duration<double>(Clock::now() - t0).count(),
                static_cast<unsigned long long>(sink.sent()), reach.c_str());
    ASSERT_FALSE(reach.empty()) << chrony_->chronyc({"sources"}) << chrony_->log();
    EXPECT_NE(reach, "0") << "reach stayed 0\n" << chrony_->log();
    EXPECT_TRUE(sink.connected());
}

TEST_F(RealChronyd, SinkReconnectsAfterChronydRestart) {
    ChronySockSink sink(chrony_->sock_path());
    Sample s;
    s.time_ns = realtime_ns();
    ASSERT_TRUE(sink.send(s, read_clock_ns(CLOCK_MONOTONIC)).ok());

    chrony_.reset();
    chrony_ = std::make_unique<Chrony>(dir_, 2);
    // The old connection points at the dead chronyd's socket; the sink must find the
    // new one on its own, and chronyd must then count the samples.
    const auto t0 = Clock::now();
    const std::string reach = feed_until_reachable(*chrony_, sink, 20s);
    std::printf("reachable again after restart in %.1f s\n",
                std::chrono::duration<double>(Clock::now() - t0).count());
    ASSERT_FALSE(reach.empty()) << chrony_->log();
    EXPECT_NE(reach, "0") << chrony_->log();
}

// Runs one "reset sources" through ChronyControl on its own loop: {ok, detail}.
std::pair<bool, std::string> reset_through(const std::string& command_socket) {
    EventLoop loop;
    ChronyControl control(loop, "chronyc", command_socket);
    bool ok = false;
    std::string detail = "no answer within 10 s";
    control.on_done = [&](bool result_ok, const std::string& result_detail) {
        ok = result_ok;
        detail = result_detail;
        loop.stop();
    };
    Timer deadline(loop, [&] { loop.stop(); });
    deadline.arm(10'000'000'000, 0);
    control.reset_sources("real chronyd test");
    EXPECT_TRUE(loop.run().ok());
    return {ok, detail};
}

TEST_F(RealChronyd, ChronyControlResetsSources) {
    const auto t0 = Clock::now();
    auto [ok, detail] = reset_through(chrony_->command_socket());
    std::printf("chronyc reset sources took %.3f s\n",
                std::chrono::duration<double>(Clock::now() - t0).count());
    EXPECT_TRUE(ok) << detail;
    EXPECT_EQ(detail, "exit status 0: 200 OK");
}

TEST(ChronyControlWithoutChronyd, ReportsTheFailure) {
    TempDir dir;  // nothing listens on its chronyd.sock
    auto [ok, detail] = reset_through(dir.file("chronyd.sock"));
    EXPECT_FALSE(ok);
    EXPECT_EQ(detail.rfind("exit status 1", 0), 0u) << detail;
}

}  // namespace
}  // namespace vmrefclock::test

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "ipc/chrony/chrony_control.h"
#include "ipc/sys/event_loop.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

using test::TempDir;

constexpr int64_t kMsNs = 1'000'000;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// True while `pid` exists and is not a zombie.
bool process_alive(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return false;
    auto close_paren = stat.rfind(')');
    return close_paren != std::string::npos && stat.size() > close_paren + 2 &&
           stat[close_paren + 2] != 'Z';
}

struct Done {
    bool ok;
    std::string detail;
};

class ChronyControlTest : public ::testing::Test {
  protected:
    // A fake chronyc: records its argv (one per line) and pid, then runs `body`.
    std::string write_chronyc(const std::string& name, const std::string& body) {
        std::string path = dir_.path() + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n"
                            << "printf '%s\\n' \"$0\" \"$@\" > '" << dir_.path() << "/argv'\n"
                            << "echo $$ > '" << dir_.path() << "/pid'\n"
                            << "echo run >> '" << dir_.path() << "/runs'\n"
                            << body << "\n";
        chmod(path.c_str(), 0755);
        return path;
    }

    // Runs the loop until `count` results arrived or the deadline passed.
    std::vector<Done> run_until_done(ChronyControl& control, size_t count,
                                     int64_t deadline_ns = 10'000 * kMsNs) {
        std::vector<Done> results;
        control.on_done = [&](bool ok, const std::string& detail) {
            results.push_back({ok, detail});
            if (results.size() >= count) loop_.stop();
        };
        Timer deadline(loop_, [&] { loop_.stop(); });
        deadline.arm(deadline_ns, 0);
        auto st = loop_.run();
        EXPECT_TRUE(st.ok());
        return results;
    }

    int runs() const {
        std::string r = read_file(dir_.path() + "/runs");
        return static_cast<int>(std::count(r.begin(), r.end(), '\n'));
    }

    TempDir dir_;
    EventLoop loop_;
    std::string socket_ = "/run/test/chronyd.sock";
};

TEST_F(ChronyControlTest, SuccessPassesArgumentsAndReportsOutput) {
    auto chronyc = write_chronyc("chronyc", "echo '200 OK'; exit 0");
    ChronyControl control(loop_, chronyc, socket_);
    EXPECT_TRUE(control.enabled());
    control.reset_sources("test");
    EXPECT_TRUE(control.busy());
    auto results = run_until_done(control, 1);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].ok) << results[0].detail;
    EXPECT_EQ(results[0].detail, "exit status 0: 200 OK");
    EXPECT_FALSE(control.busy());
    EXPECT_EQ(read_file(dir_.path() + "/argv"),
              chronyc + "\n-h\n" + socket_ + "\nreset\nsources\n");
    // Reaped: no zombie left.
    pid_t pid = std::stoi(read_file(dir_.path() + "/pid"));
    EXPECT_FALSE(process_alive(pid));
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
}

TEST_F(ChronyControlTest, FailureReportsStatusAndMessage) {
    auto chronyc = write_chronyc("chronyc", "echo '506 Cannot talk to daemon' >&2; exit 1");
    ChronyControl control(loop_, chronyc, socket_);
    control.reset_sources("test");
    auto results = run_until_done(control, 1);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_FALSE(results[0].ok);
    EXPECT_EQ(results[0].detail, "exit status 1: 506 Cannot talk to daemon");
}

TEST_F(ChronyControlTest, TimeoutKillsTheWholeProcessGroup) {
    // Not `exec sleep`: the shell's child must die too.
    auto chronyc =
        write_chronyc("chronyc", "sleep 1000 & echo $! > '" + dir_.path() + "/grandchild'; wait");
    ChronyControl control(loop_, chronyc, socket_, 200 * kMsNs);
    auto t0 = std::chrono::steady_clock::now();
    control.reset_sources("test");
    auto results = run_until_done(control, 1);
    auto elapsed = std::chrono::steady_clock::now() - t0;
    ASSERT_EQ(results.size(), 1u);
    EXPECT_FALSE(results[0].ok);
    EXPECT_EQ(results[0].detail.rfind("timed out after 0.2 s, killed", 0), 0u) << results[0].detail;
    EXPECT_LT(elapsed, std::chrono::seconds(3));
    EXPECT_FALSE(process_alive(std::stoi(read_file(dir_.path() + "/pid"))));
    std::string grandchild = read_file(dir_.path() + "/grandchild");
    ASSERT_FALSE(grandchild.empty());
    // The grandchild was reparented, so its reaper is not us: allow it a moment.
    for (int i = 0; i < 100 && process_alive(std::stoi(grandchild)); ++i) usleep(10'000);
    EXPECT_FALSE(process_alive(std::stoi(grandchild)));
}

TEST_F(ChronyControlTest, MissingProgramIsAReportedFailure) {
    for (std::string chronyc :
         {dir_.path() + "/no-such-chronyc", std::string("vmr-no-such-chronyc")}) {
        ChronyControl control(loop_, chronyc, socket_);
        bool called_inline = false;
        control.on_done = [&](bool, const std::string&) { called_inline = true; };
        control.reset_sources("test");
        EXPECT_FALSE(called_inline) << "on_done must not run inside reset_sources()";
        auto results = run_until_done(control, 1);
        ASSERT_EQ(results.size(), 1u);
        EXPECT_FALSE(results[0].ok);
        EXPECT_EQ(results[0].detail, "cannot run " + chronyc + ": " + std::strerror(ENOENT));
        EXPECT_FALSE(control.busy());
    }
}

TEST_F(ChronyControlTest, DisabledWithoutControlSocket) {
    auto chronyc = write_chronyc("chronyc", "exit 0");
    ChronyControl control(loop_, chronyc, "");
    EXPECT_FALSE(control.enabled());
    control.reset_sources("test");
    EXPECT_FALSE(control.busy());
    auto results = run_until_done(control, 1, 100 * kMsNs);
    EXPECT_TRUE(results.empty());
    EXPECT_EQ(runs(), 0);
}

TEST_F(ChronyControlTest, RequestsWhileBusyCollapseIntoOneMore) {
    auto chronyc = write_chronyc("chronyc", "sleep 0.2; echo '200 OK'");
    ChronyControl control(loop_, chronyc, socket_);
    control.reset_sources("first");
    control.reset_sources("second");
    control.reset_sources("third");
    control.reset_sources("fourth");
    EXPECT_TRUE(control.queued());
    auto results = run_until_done(control, 2);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_TRUE(results[0].ok && results[1].ok);
    // Nothing further was queued: a third result never comes.
    auto more = run_until_done(control, 1, 500 * kMsNs);
    EXPECT_TRUE(more.empty());
    EXPECT_EQ(runs(), 2);
}

TEST_F(ChronyControlTest, OnDoneMayStartAnotherRun) {
    auto chronyc = write_chronyc("chronyc", "echo '200 OK'");
    ChronyControl control(loop_, chronyc, socket_);
    int done = 0;
    control.on_done = [&](bool ok, const std::string&) {
        EXPECT_TRUE(ok);
        if (++done == 1)
            control.reset_sources("again");
        else
            loop_.stop();
    };
    control.reset_sources("first");
    Timer deadline(loop_, [&] { loop_.stop(); });
    deadline.arm(5'000 * kMsNs, 0);
    loop_.run();
    EXPECT_EQ(done, 2);
    EXPECT_EQ(runs(), 2);
}

TEST_F(ChronyControlTest, OutputIsBoundedAndChattyChildNeverBlocks) {
    // 200 KiB: more than a pipe buffer, so the child would hang if we stopped reading.
    auto chronyc = write_chronyc("chronyc", "head -c 204800 /dev/zero | tr '\\0' x; exit 0");
    ChronyControl control(loop_, chronyc, socket_);
    control.reset_sources("test");
    auto results = run_until_done(control, 1);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].ok) << results[0].detail.substr(0, 100);
    EXPECT_LE(results[0].detail.size(), ChronyControl::kMaxOutputBytes + 64);
    EXPECT_NE(results[0].detail.find("[output truncated]"), std::string::npos);
}

TEST_F(ChronyControlTest, DestructorKillsAndReapsARunningChild) {
    auto chronyc = write_chronyc("chronyc", "exec sleep 1000");
    pid_t pid = -1;
    {
        ChronyControl control(loop_, chronyc, socket_);
        control.reset_sources("test");
        ASSERT_TRUE(control.busy());
        // Let the script reach its sleep; it wrote its pid, chronyc's (the script execs).
        for (int i = 0; i < 200 && read_file(dir_.path() + "/pid").empty(); ++i) usleep(5'000);
        pid = std::atoi(read_file(dir_.path() + "/pid").c_str());
        ASSERT_GT(pid, 0);
    }
    EXPECT_FALSE(process_alive(pid));
    // Reaped, not a zombie: waitpid has nothing left to collect.
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
}

TEST_F(ChronyControlTest, ChildStartsWithSignalsUnblocked) {
    // The daemon blocks signals for its signalfd; chronyc must not inherit that mask.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    auto chronyc = write_chronyc(
        "chronyc", "grep SigBlk /proc/self/status > '" + dir_.path() + "/sigblk'; exit 0");
    ChronyControl control(loop_, chronyc, socket_);
    control.reset_sources("test");
    auto results = run_until_done(control, 1);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(read_file(dir_.path() + "/sigblk"), "SigBlk:\t0000000000000000\n");
}

}  // namespace
}  // namespace vmrefclock

namespace vmrefclock {
namespace {

// A requested reset runs chronyc only once the sink says chronyd has read the old
// clock's samples, asking from the loop: the loop keeps running while it waits.
TEST_F(ChronyControlTest, RequestedResetWaitsForTheSinkFromTheLoop) {
    auto chronyc = write_chronyc("chronyc", "exit 0");
    ChronyControl control(loop_, chronyc, socket_);
    int asked = 0;
    control.set_drained([&] { return ++asked > 10; });
    int ticks = 0;
    Timer tick(loop_, [&] { ++ticks; });
    ASSERT_TRUE(tick.arm(kMsNs / 2, kMsNs / 2).ok());
    control.request_reset("disruption: marker");
    control.request_reset("disruption: step");  // collapses into the waiting one
    EXPECT_FALSE(control.busy());               // never inside the caller's handler
    auto results = run_until_done(control, 1);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].ok) << results[0].detail;
    EXPECT_EQ(asked, 11);
    EXPECT_EQ(runs(), 1);
    EXPECT_GE(ticks, 5);  // the loop ran its other timers while the reset waited
}

TEST_F(ChronyControlTest, RequestedResetGivesUpWaitingAfterItsBound) {
    auto chronyc = write_chronyc("chronyc", "exit 0");
    ChronyControl control(loop_, chronyc, socket_);
    int asked = 0;
    control.set_drained([&] {
        ++asked;
        return false;
    });
    const auto start = std::chrono::steady_clock::now();
    control.request_reset("disruption: marker");
    auto results = run_until_done(control, 1);
    const auto waited = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(runs(), 1);
    EXPECT_GE(waited, std::chrono::nanoseconds(ChronyControl::kDrainWaitNs));
    EXPECT_EQ(asked, ChronyControl::kDrainWaitNs / ChronyControl::kDrainPollNs + 1);
}

}  // namespace
}  // namespace vmrefclock

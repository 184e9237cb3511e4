// vmrefclockctl now / wait-sync and vmrefclock-wait-sync.service: ready, and timing out.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "filter/time_bound.h"
#include "ipc/clockbound/clockbound_writer.h"
#include "ipc/ctl/clockbound_ctl.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

int64_t coarse_now_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// The daemon's writer with a PHC-like input (no vmclock marker to check).
void publish(ClockBoundWriter& w, DaemonState state, double error_ns) {
    BoundInput in;
    in.now_coarse_mono_ns = coarse_now_ns();
    in.state = state;
    in.fed_chrony = state == DaemonState::ok;
    BoundMeasurement m;
    m.offset_ns = 50;
    m.error_ns = error_ns;
    m.frequency_stddev_ppm = 0;
    in.fresh = m;
    w.publish(in);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST(ClockBoundCtl, Durations) {
    EXPECT_EQ(*parse_duration_ns("250ms"), 250'000'000);
    EXPECT_EQ(*parse_duration_ns("1.5s"), 1'500'000'000);
    EXPECT_EQ(*parse_duration_ns("10us"), 10'000);
    EXPECT_EQ(*parse_duration_ns("2m"), 120'000'000'000);
    EXPECT_EQ(*parse_duration_ns("3"), 3'000'000'000);
    EXPECT_EQ(*parse_duration_ns("7ns"), 7);
    for (const char* bad : {"", "abc", "5 parsecs", "5parsecs", "-1s", "1e30s"}) {
        auto r = parse_duration_ns(bad);
        EXPECT_FALSE(r) << bad;
        if (!r && *bad) {
            EXPECT_NE(r.error().message.find(bad), std::string::npos);
        }
    }
    EXPECT_EQ(format_duration_ns(512), "512 ns");
    EXPECT_EQ(format_duration_ns(1'234), "1.234 us");
    EXPECT_EQ(format_duration_ns(12'000'000), "12.000 ms");
}

TEST(ClockBoundCtl, NowPrintsTheBoundOrWhyNot) {
    TempDir dir;
    ClockBoundPaths paths{dir.file("shm0"), dir.file("no-vmclock")};
    std::ostringstream out, err;
    EXPECT_EQ(clockbound_now(paths, out, err), 1);
    EXPECT_NE(err.str().find(paths.shm), std::string::npos) << err.str();
    auto w = ClockBoundWriter::open(paths.shm);
    ASSERT_TRUE(w);
    publish(**w, DaemonState::ok, 400);
    out.str("");
    EXPECT_EQ(clockbound_now(paths, out, err), 0);
    const std::string text = out.str();
    EXPECT_TRUE(std::regex_search(text, std::regex("earliest  20[0-9-]+T[0-9:]+\\.[0-9]{9}Z\n")))
        << text;
    EXPECT_NE(text.find("latest    "), std::string::npos);
    EXPECT_TRUE(std::regex_search(text, std::regex("bound     [0-9.]+ ns\n"))) << text;
    EXPECT_NE(text.find("status    SYNCHRONIZED\n"), std::string::npos) << text;
}

// After a disruption and before the new clock is measured the segment says "no bound":
// `now` says so in words rather than print the sentinel as an 11.6-day interval.
TEST(ClockBoundCtl, NowSaysNoBoundAfterADisruption) {
    TempDir dir;
    ClockBoundPaths paths{dir.file("shm0"), dir.file("no-vmclock")};
    auto w = ClockBoundWriter::open(paths.shm);
    ASSERT_TRUE(w);
    publish(**w, DaemonState::ok, 400);
    BoundInput in;
    in.now_coarse_mono_ns = coarse_now_ns();
    in.state = DaemonState::holdoff;
    in.disruptions = 1;
    (*w)->publish(in);
    std::ostringstream out, err;
    EXPECT_EQ(clockbound_now(paths, out, err), 0) << err.str();
    const std::string text = out.str();
    EXPECT_NE(text.find("earliest  unbounded\nlatest    unbounded\n"), std::string::npos) << text;
    EXPECT_NE(text.find("bound     none (not measured since the last disruption)\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("status    DISRUPTED\n"), std::string::npos) << text;
    EXPECT_EQ(format_bound_ns(TimeBound::kUnknownBoundNs),
              "none (not measured since the last disruption)");
    EXPECT_EQ(format_bound_ns(1'234), "1.234 us");
}

TEST(ClockBoundCtl, WaitSyncReadyAtOnceAndWhenTheDaemonCatchesUp) {
    TempDir dir;
    ClockBoundPaths paths{dir.file("shm0"), dir.file("no-vmclock")};
    auto w = ClockBoundWriter::open(paths.shm);
    ASSERT_TRUE(w);
    publish(**w, DaemonState::degraded, 400);  // FreeRunning
    WaitSyncOptions options;
    options.max_bound_ns = 10'000;
    options.timeout_ns = 5'000'000'000;
    options.check_interval_ns = 20'000'000;
    std::thread daemon([&] {
        std::this_thread::sleep_for(300ms);
        publish(**w, DaemonState::ok, 400);
    });
    std::ostringstream out, err;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(clockbound_wait_sync(paths, options, out, err), 0) << err.str();
    const double waited = seconds_since(start);
    daemon.join();
    EXPECT_GE(waited, 0.29);
    EXPECT_LT(waited, 2.0);
    EXPECT_NE(out.str().find("synchronized: bound"), std::string::npos) << out.str();
}

TEST(ClockBoundCtl, WaitSyncTimesOutNamingTheReason) {
    TempDir dir;
    ClockBoundPaths paths{dir.file("shm0"), dir.file("no-vmclock")};
    WaitSyncOptions options;
    options.max_bound_ns = 1'000;
    options.timeout_ns = 300'000'000;
    options.check_interval_ns = 50'000'000;
    std::ostringstream out, err;
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(clockbound_wait_sync(paths, options, out, err), 1);
    EXPECT_GE(seconds_since(start), 0.3);
    EXPECT_NE(err.str().find("timed out after 300.000 ms"), std::string::npos) << err.str();
    EXPECT_NE(err.str().find(paths.shm), std::string::npos) << "no segment: named";

    auto w = ClockBoundWriter::open(paths.shm);
    ASSERT_TRUE(w);
    publish(**w, DaemonState::ok, 5'000);  // synchronised, but the bound is too large
    err.str("");
    start = std::chrono::steady_clock::now();
    EXPECT_EQ(clockbound_wait_sync(paths, options, out, err), 1);
    EXPECT_LT(seconds_since(start), 2.0);
    EXPECT_TRUE(std::regex_search(err.str(), std::regex("bound 5\\.[0-9]+ us is above the "
                                                        "maximum 1\\.000 us")))
        << err.str();
    publish(**w, DaemonState::no_source, 5'000);
    err.str("");
    EXPECT_EQ(clockbound_wait_sync(paths, options, out, err), 1);
    EXPECT_NE(err.str().find("status FREE_RUNNING"), std::string::npos) << err.str();
}

// --- The unit, run as systemd would run its ExecStart (with the built vmrefclockctl). ---

std::string source_file(const std::string& rel) {
    std::ifstream in(std::string(VMR_DEFAULT_SOURCE_DIR) + "/" + rel);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

int run_shell(const std::string& command, std::string& output) {
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (!p) return -1;
    std::array<char, 4096> buf{};
    while (size_t n = fread(buf.data(), 1, buf.size(), p)) output.append(buf.data(), n);
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(WaitSyncUnit, OrdersBeforeTimeSyncLikeChronyWait) {
    const std::string unit = source_file("systemd/vmrefclock-wait-sync.service");
    for (const char* line : {"Type=oneshot", "Before=time-sync.target", "Wants=time-sync.target",
                             "RemainAfterExit=yes", "After=vmrefclockd.service",
                             "ExecStart=/usr/bin/vmrefclockctl wait-sync"}) {
        EXPECT_NE(unit.find(line), std::string::npos) << line;
    }
    std::string output;
    if (run_shell("command -v systemd-analyze", output) != 0) {
        GTEST_SKIP() << "systemd-analyze not installed";
    }
    // Both units, with programs that exist here, on the unit path so Requires= resolves.
    TempDir dir;
    const std::string bin = VMR_DEFAULT_BIN_DIR;
    std::ofstream(dir.file("vmrefclock-wait-sync.service"))
        << std::regex_replace(unit, std::regex("/usr/bin/vmrefclockctl"), bin + "/vmrefclockctl");
    std::ofstream(dir.file("vmrefclockd.service"))
        << std::regex_replace(source_file("systemd/vmrefclockd.service"),
                              std::regex("/usr/sbin/vmrefclockd"), bin + "/vmrefclockd");
    output.clear();
    const int status =
        run_shell("SYSTEMD_UNIT_PATH=" + dir.path() + ": systemd-analyze verify --man=no " +
                      dir.file("vmrefclock-wait-sync.service"),
                  output);
    EXPECT_EQ(status, 0) << output;
    EXPECT_EQ(output, "") << output;
}

// The unit's ExecStart against a config naming the test's segment; `timeout` replaces
// the unit's 180 s.
int run_exec_start(const TempDir& dir, const std::string& timeout, std::string& output) {
    std::string unit = source_file("systemd/vmrefclock-wait-sync.service");
    std::smatch m;
    if (!std::regex_search(unit, m, std::regex("ExecStart=/usr/bin/vmrefclockctl ([^\n]*)"))) {
        return -1;
    }
    std::string args =
        std::regex_replace(m[1].str(), std::regex("--timeout [^ ]+"), "--timeout " + timeout);
    std::ofstream(dir.file("vmrefclockd.toml"))
        << "[clockbound]\nenabled = true\npath = \"" << dir.file("shm0") << "\"\n";
    return run_shell(std::string(VMR_DEFAULT_BIN_DIR) + "/vmrefclockctl -c " +
                         dir.file("vmrefclockd.toml") + " " + args + " --vmclock " +
                         dir.file("none"),
                     output);
}

TEST(WaitSyncUnit, ExecStartReadyAndTimingOut) {
    TempDir dir;
    std::string output;
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(run_exec_start(dir, "1s", output), 1) << output;
    EXPECT_GE(seconds_since(start), 1.0);
    EXPECT_NE(output.find("wait-sync timed out after 1.000 s"), std::string::npos) << output;

    auto w = ClockBoundWriter::open(dir.file("shm0"));
    ASSERT_TRUE(w);
    publish(**w, DaemonState::ok, 400);
    output.clear();
    start = std::chrono::steady_clock::now();
    EXPECT_EQ(run_exec_start(dir, "10s", output), 0) << output;
    EXPECT_LT(seconds_since(start), 5.0);
    EXPECT_NE(output.find("synchronized: bound"), std::string::npos) << output;
}

}  // namespace
}  // namespace vmrefclock

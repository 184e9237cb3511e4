// The whole chain with real processes: vmclock-sim publishes a page, vmrefclockd feeds a
// private chronyd (-x: the system clock is never touched), and chrony's verdict is
// compared with the truth the simulator injected.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <thread>

#include "tests/integration/harness.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;

constexpr int kChronyPoll = 2;  // 4-s chrony polls

// chrony's estimate of true - system, in ns: the correction its virtual clock applies
// (tracking "System time", positive = system slow) minus the residual offset it still
// sees for the refclock (sourcestats; positive = local clock ahead of the source).
// `at_ns` is the midpoint of the CLOCK_REALTIME reads taken right around chrony's answer
// to `tracking`, for the truth; `slack_ns` its half-width (the truth moves 3 ns per ms at
// the simulated 3 ppm, so the measurement's own error is 3e-6 * slack_ns).
struct ChronyEstimate {
    double offset_ns;
    int64_t at_ns;
    int64_t slack_ns;
};
std::optional<ChronyEstimate> chrony_estimate(const Chrony& chrony) {
    auto stats = chrony.sourcestats_fields();
    const int64_t before = realtime_ns();
    auto correction = chrony.tracking_system_time_s();
    const int64_t after = realtime_ns();
    if (!correction || stats.size() < 7) return std::nullopt;
    return ChronyEstimate{(*correction - std::stod(stats[6])) * 1e9, before + (after - before) / 2,
                          (after - before) / 2};
}

class Spine : public ::testing::TestWithParam<std::string> {};

TEST_P(Spine, ChronyFollowsTheHostClockAndADisruption) {
    std::optional<ChronyBuild> build;
    for (const auto& b : chrony_builds()) {
        if (b.name == GetParam()) build = b;
    }
    if (!build) GTEST_SKIP() << "chrony " << GetParam() << " is not built (scripts/chrony-4.8)";
    TempDir dir;
    const std::string page = dir.file("vmclock0"), truth_file = dir.file("truth");
    auto sim = start_vmclock_sim(dir, page, truth_file, 0.00025, 3);
    Chrony chrony(dir, kChronyPoll, "", "root", "", *build);
    write_file(dir.file("vmrefclockd.toml"),
               vmclock_daemon_config(page, chrony, kChronyPoll, dir.file("status.sock")));
    Process daemon({bin_dir() + "/vmrefclockd", "-c", dir.file("vmrefclockd.toml")},
                   dir.file("daemon.log"));

    // Phase 1: after 30 s chrony agrees with the truth and every poll was reachable.
    std::this_thread::sleep_for(30s);
    ASSERT_TRUE(daemon.running()) << daemon.log();
    ASSERT_TRUE(wait_until([&] { return chrony.reach() == "377"; }, 15s))
        << "reach " << chrony.reach() << "\n"
        << chrony.log() << daemon.log();
    auto truth = read_truth(truth_file);
    ASSERT_TRUE(truth);
    // Steady state: chrony's estimate within 100 ns of the truth, three times 2 s apart.
    // (The SOCK encoding that added the truncated nanoseconds to the offset was off by
    // +0.5 us on average: this fails on it.)
    for (int check = 0; check < 3; ++check) {
        if (check > 0) std::this_thread::sleep_for(2s);
        auto estimate = chrony_estimate(chrony);
        ASSERT_TRUE(estimate);
        const double truth_ns = truth->at(estimate->at_ns);
        std::printf(
            "chrony %s, check %d: chrony %+.0f ns, truth %+.0f ns, difference %+.0f ns "
            "(measurement +-%.1f ns)\n",
            build->name.c_str(), check + 1, estimate->offset_ns, truth_ns,
            estimate->offset_ns - truth_ns, 3e-6 * static_cast<double>(estimate->slack_ns));
        EXPECT_NEAR(estimate->offset_ns, truth_ns, 100);
    }

    // Phase 2: a migration-like disruption with a 2 ms step.
    const uint64_t disruptions = truth->disruptions;
    sim->signal(SIGUSR1);
    ASSERT_TRUE(wait_until(
        [&] {
            auto t = read_truth(truth_file);
            return t && t->disruptions > disruptions;
        },
        5s));
    const auto disrupted_at = std::chrono::steady_clock::now();
    double last_difference_ns = NAN;
    bool followed = wait_until(
        [&] {
            auto e = chrony_estimate(chrony);
            auto t = read_truth(truth_file);
            if (!e || !t) return false;
            last_difference_ns = e->offset_ns - t->at(e->at_ns);
            return std::fabs(last_difference_ns) < 5'000;
        },
        std::chrono::seconds(3 << kChronyPoll), 250ms);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - disrupted_at).count();
    std::printf(
        "after the 2 ms step: chrony within 5 us of the truth after %.1f s (%s), "
        "difference %+.0f ns\n",
        seconds, followed ? "followed" : "NOT followed", last_difference_ns);
    EXPECT_TRUE(followed) << "difference " << last_difference_ns << " ns\n" << daemon.log();
    const std::string log = daemon.log();
    EXPECT_NE(log.find("disruption (marker)"), std::string::npos) << log;
    EXPECT_NE(log.find("hold-off over"), std::string::npos) << log;

    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

INSTANTIATE_TEST_SUITE_P(Chrony, Spine, ::testing::Values("4.3", "4.8"), [](const auto& info) {
    std::string name = "chrony_" + info.param;
    name[name.find('.')] = '_';
    return name;
});

}  // namespace
}  // namespace vmrefclock::test

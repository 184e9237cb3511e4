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
std::optional<double> chrony_estimate_ns(const Chrony& chrony) {
    auto correction = chrony.tracking_system_time_s();
    auto stats = chrony.sourcestats_fields();
    if (!correction || stats.size() < 7) return std::nullopt;
    return (*correction - std::stod(stats[6])) * 1e9;
}

TEST(Spine, ChronyFollowsTheHostClockAndADisruption) {
    TempDir dir;
    const std::string page = dir.file("vmclock0"), truth_file = dir.file("truth");
    auto sim = start_vmclock_sim(dir, page, truth_file, 0.00025, 3);
    Chrony chrony(dir, kChronyPoll);
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
    auto estimate = chrony_estimate_ns(chrony);
    auto truth = read_truth(truth_file);
    ASSERT_TRUE(estimate && truth);
    const double truth_ns = truth->at(realtime_ns());
    std::printf("after 30 s: chrony %+.0f ns, truth %+.0f ns, difference %+.0f ns\n", *estimate,
                truth_ns, *estimate - truth_ns);
    EXPECT_NEAR(*estimate, truth_ns, 5'000);

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
            auto e = chrony_estimate_ns(chrony);
            auto t = read_truth(truth_file);
            if (!e || !t) return false;
            last_difference_ns = *e - t->at(realtime_ns());
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

}  // namespace
}  // namespace vmrefclock::test

// How fast chrony is right again, with real chronyd 4.3 and 4.8 at the 0.5-s and 1-s
// sampling intervals: within 1 us of the truth at most 12 s (3 polls at poll 2) after the
// daemon starts and after a disruption with a 2 ms step. The four chains run side by side
// so the test takes about as long as one.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;

constexpr int kChronyPoll = 2;
constexpr double kGoalS = 3 << kChronyPoll;  // 3 refclock polls
// What the goal cannot include: a disruption in the last moments before a refclock poll
// is noticed (the daemon reads the page every 100 ms), reset (a few ms) and burst only
// after that poll, which then carries the old clock and does not count: 12 s + ~110 ms at
// worst, about 2.5 % of disruptions. And this test sees chrony right only at its next
// check: every 100 ms, each a chronyc run of 5-30 ms. A poll lost for any other reason
// costs 4 s and fails.
constexpr double kMarginS = 0.25;
constexpr double kWithinNs = 1'000;

// chrony's clock: tracking "System time" (under chronyd -x the correction chrony applies
// to its virtual clock, i.e. its estimate of true - system) while the refclock is the
// selected source, and the CLOCK_REALTIME midpoint of the reads around the one chronyc
// run. While the source is not selected chrony's clock is not steered by it, and the
// sourcestats offset (which spine_test adds) is only the last sample, so it is not used.
struct Estimate {
    double offset_ns;
    bool selected;
    int64_t at_ns;
};
std::optional<Estimate> chrony_estimate(const Chrony& chrony) {
    const int64_t before = realtime_ns();
    std::string out = chrony.chronyc({"-m", "tracking", "sources"});
    const int64_t after = realtime_ns();
    std::stringstream lines(out);
    std::string line;
    std::optional<double> correction_s;
    bool selected = false;
    while (std::getline(lines, line)) {
        auto f = split_csv(line);
        try {
            if (f.size() >= 14 && !correction_s) correction_s = std::stod(f.at(4));
        } catch (...) {
            return std::nullopt;
        }
        if (f.size() >= 3 && f[2] == "VMCK") selected = f[1] == "*";
    }
    if (!correction_s) return std::nullopt;
    return Estimate{*correction_s * 1e9, selected, before + (after - before) / 2};
}

struct Variant {
    ChronyBuild build;
    double interval_s;
    std::string name() const {
        std::ostringstream s;
        s << "chrony " << build.name << ", interval " << interval_s << " s";
        return s.str();
    }
};

struct Outcome {
    std::string error;                   // set when the chain could not run
    double startup_s = NAN;              // daemon start -> within 1 us
    std::vector<double> recovery_s;      // disruption -> within 1 us, per disruption
    std::vector<double> overshoot_ns;    // worst estimate - new truth beyond 0 on the way
    std::vector<double> after_worst_ns;  // worst |estimate - truth| in the 3 s after
    std::string log;
};

// Polls chrony until its estimate is within 1 us of the truth; returns the seconds from
// `since_ns` (CLOCK_REALTIME) and tracks the worst overshoot past the truth in the
// direction of `step_sign` (0: none tracked).
double time_to_within(const Chrony& chrony, const std::string& truth_file, int64_t since_ns,
                      double step_sign, double* overshoot_ns) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto e = chrony_estimate(chrony);
        auto t = read_truth(truth_file);
        if (e && t) {
            const double error_ns = e->offset_ns - t->at(e->at_ns);
            if (overshoot_ns) *overshoot_ns = std::max(*overshoot_ns, step_sign * error_ns);
            if (e->selected && std::fabs(error_ns) < kWithinNs) {
                return static_cast<double>(e->at_ns - since_ns) / 1e9;
            }
        }
        std::this_thread::sleep_for(100ms);
    }
    return INFINITY;
}

double worst_error_ns(const Chrony& chrony, const std::string& truth_file,
                      std::chrono::seconds span) {
    double worst = 0;
    const auto end = std::chrono::steady_clock::now() + span;
    while (std::chrono::steady_clock::now() < end) {
        auto e = chrony_estimate(chrony);
        auto t = read_truth(truth_file);
        if (e && t) worst = std::max(worst, std::fabs(e->offset_ns - t->at(e->at_ns)));
        std::this_thread::sleep_for(250ms);
    }
    return worst;
}

// One simulated host, chronyd and (later) daemon. Built on the main thread, one after the
// other: the harness writes 4.8's chronyc wrapper without O_CLOEXEC, and a process forked
// meanwhile by another thread would keep it open for writing (ETXTBSY on every exec).
struct Chain {
    explicit Chain(const Variant& v)
        : variant(v),
          page(dir.file("vmclock0")),
          truth_file(dir.file("truth")),
          sim(start_vmclock_sim(dir, page, truth_file, 0.00025, 3)),
          chrony(std::make_unique<Chrony>(dir, kChronyPoll, "", "root", "", v.build)) {}
    Variant variant;
    TempDir dir;
    std::string page, truth_file;
    std::unique_ptr<Process> sim;
    std::unique_ptr<Chrony> chrony;
};

Outcome run_chain(Chain& chain, int disruptions, unsigned seed) {
    Outcome out;
    const Variant& v = chain.variant;
    TempDir& dir = chain.dir;
    const std::string& page = chain.page;
    const std::string& truth_file = chain.truth_file;
    auto& sim = chain.sim;
    const Chrony& chrony = *chain.chrony;
    try {
        std::string config =
            vmclock_daemon_config(page, chrony, kChronyPoll, dir.file("status.sock"));
        const std::string half = "interval = 0.5\n";
        config.replace(config.find(half), half.size(),
                       "interval = " + std::to_string(v.interval_s) + "\n");
        write_file(dir.file("vmrefclockd.toml"), config);
        // chronyd's refclock polls started with chronyd; start the daemon at a random phase.
        std::this_thread::sleep_for(std::chrono::milliseconds(seed % 4000));
        const int64_t started_ns = realtime_ns();
        Process daemon({bin_dir() + "/vmrefclockd", "-c", dir.file("vmrefclockd.toml")},
                       dir.file("daemon.log"));
        out.startup_s = time_to_within(chrony, truth_file, started_ns, 0, nullptr);
        for (int i = 0; i < disruptions && std::isfinite(out.startup_s); ++i) {
            // Settle, then disrupt at a phase of chrony's poll that varies from run to run.
            std::this_thread::sleep_for(std::chrono::milliseconds(4000 + (seed * (i + 7)) % 4000));
            auto before = read_truth(truth_file);
            if (!before) throw std::runtime_error("no truth");
            // The truth file is re-anchored at each page update, so the disruption's instant
            // is taken here: at most the simulator's reaction (ms) early.
            const int64_t disrupted_ns = realtime_ns();
            sim->signal(SIGUSR1);
            std::optional<Truth> after;
            wait_until(
                [&] {
                    after = read_truth(truth_file);
                    return after && after->disruptions > before->disruptions;
                },
                5s, 5ms);
            if (!after || after->disruptions == before->disruptions) {
                throw std::runtime_error("the simulator did not disrupt");
            }
            const double step_ns = after->offset_ns - before->at(after->realtime_ns);
            double overshoot_ns = 0;
            out.recovery_s.push_back(time_to_within(chrony, truth_file, disrupted_ns,
                                                    step_ns > 0 ? 1 : -1, &overshoot_ns));
            out.overshoot_ns.push_back(overshoot_ns);
            out.after_worst_ns.push_back(worst_error_ns(chrony, truth_file, 3s));
        }
        out.log = daemon.log();
        daemon.stop();
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    return out;
}

TEST(Recovery, ChronyWithinOneMicrosecondWithinThreePollsOfAStartAndADisruption) {
    // VMR_RECOVERY_INTERVALS: the sampling intervals, comma-separated (default 0.5,1).
    std::vector<double> intervals{0.5, 1.0};
    if (const char* env = std::getenv("VMR_RECOVERY_INTERVALS")) {
        intervals.clear();
        for (const auto& field : split_csv(env)) intervals.push_back(std::stod(field));
    }
    std::vector<Variant> variants;
    for (const auto& build : chrony_builds()) {
        for (double interval : intervals) variants.push_back({build, interval});
    }
    // VMR_RECOVERY_RUNS: disruptions per chain (default 1), for measuring.
    const char* runs_env = std::getenv("VMR_RECOVERY_RUNS");
    const int runs = runs_env ? std::max(1, std::atoi(runs_env)) : 1;
    std::vector<std::unique_ptr<Chain>> chains;
    for (const auto& v : variants) chains.push_back(std::make_unique<Chain>(v));
    std::vector<Outcome> outcomes(variants.size());
    std::vector<std::thread> threads;
    const unsigned seed = static_cast<unsigned>(realtime_ns() / 1000);
    for (size_t i = 0; i < variants.size(); ++i) {
        threads.emplace_back([&, i] {
            outcomes[i] = run_chain(*chains[i], runs, seed + 1237 * static_cast<unsigned>(i));
        });
    }
    for (auto& t : threads) t.join();

    for (size_t i = 0; i < variants.size(); ++i) {
        const Outcome& o = outcomes[i];
        SCOPED_TRACE(variants[i].name());
        ASSERT_TRUE(o.error.empty()) << o.error;
        std::printf("%s: start -> within 1 us: %.1f s\n", variants[i].name().c_str(), o.startup_s);
        EXPECT_LE(o.startup_s, kGoalS + kMarginS) << o.log;
        ASSERT_EQ(o.recovery_s.size(), static_cast<size_t>(runs)) << o.log;
        for (int r = 0; r < runs; ++r) {
            std::printf(
                "%s: disruption %d -> within 1 us: %.1f s; overshoot past the new truth %.0f ns; "
                "worst |error| in the 3 s after %.0f ns\n",
                variants[i].name().c_str(), r + 1, o.recovery_s[r], o.overshoot_ns[r],
                o.after_worst_ns[r]);
            EXPECT_LE(o.recovery_s[r], kGoalS + kMarginS) << o.log;
            EXPECT_LT(o.overshoot_ns[r], kWithinNs) << o.log;
            EXPECT_LT(o.after_worst_ns[r], kWithinNs) << o.log;
        }
    }
    if (chrony_builds().size() < 2) GTEST_SKIP() << "chrony 4.8 is not built (scripts/chrony-4.8)";
}

}  // namespace
}  // namespace vmrefclock::test

// A hostile host, end to end: vmclock-sim publishes a valid page, corrupts one thing for
// 10 s (a field, the header, the file itself), then publishes a valid page again, while
// vmrefclockd feeds a private chronyd (-x: the system clock is never touched). One lane
// per corruption, all in parallel, each with its own chronyd, simulator and daemon, plus
// a second "witness" daemon on the same page that is sent SIGTERM while the page lies.
//
// For every lane: the status is not ok while the page lies; nothing sent to chrony is more
// than 1 s from the truth (the daemon's sample list and chrony's last sample); the jumps
// count as exactly one disruption, the rest as none; a valid page is fed again; neither
// daemon dies or hangs, and SIGTERM stops each within 1 s.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "tests/integration/harness.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kChronyPoll = 2;
constexpr double kCorruptAt = 14;  // s after the simulator's start: a model and chrony samples
constexpr double kCorruptFor = 10;

struct Case {
    const char* what;
    double seconds;  // jumps only
    int disruptions;
};

const std::vector<Case> kCases = {
    {"time_sec_zero", 0, 0},  {"period_max", 0, 0},     {"time_sec_2262", 0, 0},
    {"shift_63", 0, 0},       {"counter_jump", 524, 1}, {"counter_jump", -524, 1},
    {"time_jump", 0.0045, 1}, {"bad_magic", 0, 0},      {"bad_version", 0, 0},
    {"bad_size", 0, 0},       {"truncate", 0, 0},       {"replace", 0, 0},
    {"fifo", 0, 0},
};

struct Seen {
    double t;  // s since the lane's corruption started (negative before)
    std::string state;
    std::string reason;
    uint64_t disruptions;
    uint64_t sent;
};

struct Lane {
    Case c;
    std::string name;
    TempDir dir{"vmr-hostile"};
    std::unique_ptr<Chrony> chrony;
    std::unique_ptr<Process> sim, daemon, witness;
    std::optional<Clock::time_point> start, end;  // of the corruption, as the simulator logged it
    std::vector<Seen> seen;
    // Near the end of the lie: chrony's last sample (`chronyc -c sources` field 9, the
    // measured offset against chrony's own clock), chrony's estimate of host - system
    // (tracking correction minus the sourcestats offset, as spine_test reads it) and the
    // truth then.
    std::optional<double> chrony_last_s, chrony_estimate_s, truth_s;
    std::optional<double> witness_stop_s;
    std::string witness_state;
    int witness_status = -1;

    std::string page() const { return dir.file("vmclock0"); }
    std::string status() const { return dir.file("status.sock"); }
    double since_start(Clock::time_point t) const {
        return start ? std::chrono::duration<double>(t - *start).count() : -1e9;
    }
};

std::string exact(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

double stop_seconds(Process& p, int* status) {
    const auto t0 = Clock::now();
    *status = p.stop(3000ms);
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void start_lane(Lane& lane, int index) {
    lane.name = std::string(lane.c.what) +
                (lane.c.seconds != 0 ? std::string(" ") + exact(lane.c.seconds) + " s" : "");
    write_file(lane.dir.file("scenario.toml"),
               "[[event]]\nat = " + exact(kCorruptAt) + "\ntype = \"corrupt\"\nwhat = \"" +
                   lane.c.what + "\"\nduration = " + exact(kCorruptFor) +
                   (lane.c.seconds != 0 ? "\nseconds = " + exact(lane.c.seconds) : "") + "\n");
    lane.sim = std::make_unique<Process>(
        std::vector<std::string>{
            bin_dir() + "/vmclock-sim", "--page", lane.page(), "--offset", "0.00025", "--freq-ppm",
            "3", "--update-interval", "1", "--truth-file", lane.dir.file("truth"), "--scenario",
            lane.dir.file("scenario.toml"), "--seed", std::to_string(index + 1)},
        lane.dir.file("sim.log"));
    ASSERT_TRUE(wait_until([&] { return read_truth(lane.dir.file("truth")).has_value(); }, 10s))
        << lane.sim->log();
    write_file(lane.dir.file("a.toml"),
               vmclock_daemon_config(lane.page(), *lane.chrony, kChronyPoll, lane.status()));
    lane.daemon = std::make_unique<Process>(
        std::vector<std::string>{bin_dir() + "/vmrefclockd", "-c", lane.dir.file("a.toml")},
        lane.dir.file("daemon.log"));
    // The witness reads the same page and feeds nobody.
    write_file(lane.dir.file("b.toml"), "[source]\ntype = \"vmclock\"\npath = \"" + lane.page() +
                                            "\"\n[chrony]\nsocket = \"" +
                                            lane.dir.file("nobody.sock") +
                                            "\"\ncontrol_socket = \"\"\n[status]\nsocket = \"" +
                                            lane.dir.file("witness.sock") + "\"\n");
    lane.witness = std::make_unique<Process>(
        std::vector<std::string>{bin_dir() + "/vmrefclockd", "-c", lane.dir.file("b.toml")},
        lane.dir.file("witness.log"));
}

// One look at a lane: the simulator's log, the daemon's status, chrony near the end, the
// witness in the middle.
void observe(Lane& lane) {
    const auto now = Clock::now();
    const std::string sim_log = read_file(lane.dir.file("sim.log"));
    if (!lane.start && sim_log.find(" start for ") != std::string::npos) lane.start = now;
    if (!lane.end &&
        sim_log.find("corrupt " + std::string(lane.c.what) + " end") != std::string::npos) {
        lane.end = now;
    }
    nlohmann::json s = status_of(lane.status());
    if (s.is_object()) {
        lane.seen.push_back({lane.since_start(now), s.value("state", ""), s.value("reason", ""),
                             s["disruptions"].value("count", uint64_t{0}),
                             s.value("samples_sent", uint64_t{0})});
    }
    const double t = lane.since_start(now);
    if (!lane.end && t >= kCorruptFor - 1.0 && !lane.chrony_last_s) {
        auto fields = lane.chrony->source_fields();
        auto stats = lane.chrony->sourcestats_fields();
        auto correction = lane.chrony->tracking_system_time_s();
        auto truth = read_truth(lane.dir.file("truth"));
        if (fields.size() > 8 && stats.size() > 6 && truth && correction) {
            try {
                lane.chrony_last_s = std::stod(fields[8]);
                lane.chrony_estimate_s = *correction - std::stod(stats[6]);
                lane.truth_s = truth->at(realtime_ns()) / 1e9;
            } catch (...) {
            }
        }
    }
    if (t >= kCorruptFor / 2 && !lane.witness_stop_s) {
        nlohmann::json w = status_of(lane.dir.file("witness.sock"));
        lane.witness_state = w.is_object() ? w.value("state", "?") : "no answer";
        lane.witness_stop_s = stop_seconds(*lane.witness, &lane.witness_status);
    }
}

// Seconds after the page was valid again until a new sample was sent in state ok.
std::optional<double> fed_again(const Lane& lane) {
    if (!lane.end) return std::nullopt;
    const double valid_at = std::chrono::duration<double>(*lane.end - *lane.start).count();
    std::optional<uint64_t> sent_then;
    for (const Seen& s : lane.seen) {
        if (s.t < valid_at) continue;
        if (!sent_then) sent_then = s.sent;
        if (s.state == "ok" && s.sent > *sent_then) return s.t - valid_at;
    }
    return std::nullopt;
}

TEST(HostilePage, NothingHostileReachesChronyAndEveryLaneRecovers) {
    std::vector<std::unique_ptr<Lane>> lanes;
    for (const Case& c : kCases) {
        lanes.push_back(std::make_unique<Lane>());
        lanes.back()->c = c;
        lanes.back()->chrony = std::make_unique<Chrony>(lanes.back()->dir, kChronyPoll);
    }
    for (size_t i = 0; i < lanes.size(); ++i) start_lane(*lanes[i], static_cast<int>(i));
    const auto deadline = Clock::now() + std::chrono::seconds(int(kCorruptAt + kCorruptFor + 25));
    for (;;) {
        bool all_done = true;
        for (auto& lane : lanes) {
            ASSERT_TRUE(lane->daemon->running()) << lane->name << "\n" << lane->daemon->log();
            observe(*lane);
            all_done = all_done && fed_again(*lane).has_value();
        }
        if (all_done || Clock::now() > deadline) break;
        std::this_thread::sleep_for(100ms);
    }

    for (auto& lane : lanes) {
        SCOPED_TRACE(lane->name);
        ASSERT_TRUE(lane->start && lane->end) << lane->sim->log();
        const double lie_s = std::chrono::duration<double>(*lane->end - *lane->start).count();
        // Not ok while the page lies, from one poll (0.5 s) and the look's 0.1 s after.
        std::optional<double> first_not_ok;
        std::string lying_states;
        uint64_t disruptions_before = 0;
        for (const Seen& s : lane->seen) {
            if (s.t < 0) disruptions_before = s.disruptions;
            if (s.t >= 0 && s.t < lie_s && s.state != "ok" && !first_not_ok) first_not_ok = s.t;
            if (s.t >= 1.0 && s.t < lie_s - 0.2) {
                EXPECT_NE(s.state, "ok") << "at +" << s.t << " s: " << s.reason;
                if (lying_states.find(s.state) == std::string::npos) lying_states += s.state + " ";
            }
        }
        std::string reason;
        for (const Seen& s : lane->seen) {
            if (s.t >= 1.0 && s.t < lie_s && s.state != "ok") {
                reason = s.reason;
                break;
            }
        }
        const uint64_t disruptions = lane->seen.empty() ? 0 : lane->seen.back().disruptions;
        EXPECT_EQ(disruptions - disruptions_before, static_cast<uint64_t>(lane->c.disruptions));
        const std::optional<double> fed = fed_again(*lane);
        EXPECT_TRUE(fed) << "never fed again\n" << lane->daemon->log();

        // Everything sent, against the truth.
        nlohmann::json samples =
            ask_status_socket(lane->status(), {{"cmd", "samples"}, {"n", 1000}});
        auto truth = read_truth(lane->dir.file("truth"));
        ASSERT_TRUE(truth && samples.contains("samples")) << samples.dump();
        double worst_ns = 0;
        int sent = 0;
        for (const auto& r : samples["samples"]) {
            if (!r.value("sent", false)) continue;
            ++sent;
            const double error =
                r.value("offset_ns", 0.0) - truth->at(r.value("time_ns", int64_t{0}));
            worst_ns = std::max(worst_ns, std::abs(error));
        }
        EXPECT_GT(sent, 0);
        EXPECT_LT(worst_ns, 1e9);
        ASSERT_TRUE(lane->chrony_last_s && lane->chrony_estimate_s && lane->truth_s);
        EXPECT_LT(std::abs(*lane->chrony_last_s), 1.0);
        EXPECT_LT(std::abs(*lane->chrony_estimate_s - *lane->truth_s), 1.0);

        EXPECT_TRUE(lane->witness_stop_s);
        EXPECT_LT(lane->witness_stop_s.value_or(99), 1.0);
        EXPECT_TRUE(WIFEXITED(lane->witness_status) && WEXITSTATUS(lane->witness_status) == 0)
            << lane->witness->log();
        int status = -1;
        const double stop_s = stop_seconds(*lane->daemon, &status);
        EXPECT_LT(stop_s, 1.0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << lane->daemon->log();

        std::printf(
            "%-18s not ok %.2f s after the page lied (%s| %.90s); disruptions +%llu; fed "
            "again %.2f s after it was valid; chrony: last sample %+.6f s, estimate %+.6f s (truth "
            "%+.6f s); "
            "%d samples sent, worst %.0f ns from the truth; SIGTERM: witness (%s) %.3f s, "
            "daemon %.3f s\n",
            lane->name.c_str(), first_not_ok.value_or(NAN), lying_states.c_str(), reason.c_str(),
            static_cast<unsigned long long>(disruptions - disruptions_before), fed.value_or(NAN),
            lane->chrony_last_s.value_or(NAN), lane->chrony_estimate_s.value_or(NAN),
            lane->truth_s.value_or(NAN), sent, worst_ns, lane->witness_state.c_str(),
            lane->witness_stop_s.value_or(NAN), stop_s);
    }
}

// Startup against a path that is no vmclock page: at once, never a hang, the daemon names
// the problem and waits in no-source (as it does on a guest without a clock, for a valid
// page to appear), and SIGTERM still ends it cleanly.
TEST(HostilePage, StartupRefusesFifoDevicesAndDirectories) {
    TempDir dir;
    const std::string fifo = dir.file("fifo");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    int run = 0;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {fifo, "FIFO"}, {"/dev/zero", "bad magic"}, {dir.path(), "directory"}};
    for (const auto& [path, problem] : cases) {
        SCOPED_TRACE(path);
        write_file(dir.file("d.toml"), "[source]\ntype = \"vmclock\"\npath = \"" + path +
                                           "\"\n[status]\nsocket = \"\"\n");
        Process daemon({bin_dir() + "/vmrefclockd", "-c", dir.file("d.toml")},
                       dir.file("daemon" + std::to_string(++run) + ".log"));
        const auto t0 = Clock::now();
        const bool named = wait_until(
            [&] {
                const std::string log = daemon.log();
                return log.find("no-source") != std::string::npos &&
                       log.find(problem) != std::string::npos;
            },
            2s, 5ms);
        const double took = std::chrono::duration<double>(Clock::now() - t0).count();
        EXPECT_TRUE(named) << daemon.log();
        EXPECT_TRUE(daemon.running()) << daemon.log();
        const auto t1 = Clock::now();
        const int status = daemon.stop();
        const double stop_s = std::chrono::duration<double>(Clock::now() - t1).count();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon.log();
        EXPECT_LT(stop_s, 1.0);
        const std::string log = daemon.log();
        const size_t at = log.find("no-source");
        std::printf("%-24s no-source, naming \"%s\", in %.3f s; SIGTERM took %.3f s: %s",
                    path.c_str(), problem.c_str(), took, stop_s,
                    at == std::string::npos ? "(no line)\n" : log.substr(at).c_str());
    }
}

}  // namespace
}  // namespace vmrefclock::test

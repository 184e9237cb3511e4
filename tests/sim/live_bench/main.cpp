// vmrefclock-live-bench: what chrony ends up believing, against the truth, with real
// chronyds fed side by side from one simulated host page (scripts/bench --live).
//
// One vmclock-sim page (+250 µs, +3 ppm by default) feeds, for every chronyd given
// (4.3, 4.8) and every interval (0.5 s, 1 s), three private `chronyd -x` (poll 2):
//   default   vmrefclockd with its defaults;
//   noreset   vmrefclockd that never resets chrony ([chrony] control_socket = "");
//   naive     naive-feeder: the min-delay reading of 10, offset sent unchanged.
// Phases: warm-up (chrony sampled every 0.2 s: time to within 1 µs from the start),
// steady state (every 1 s: mean/RMS/max, sourcestats, CPU), a disruption (the page's
// marker changes and its clock steps), recovery (every 0.2 s). chrony's estimate of
// true - system is tracking's "System time", read over chronyd's command socket with
// CLOCK_REALTIME taken just before the request and just after the reply; the truth is
// evaluated at the midpoint, so the measurement's own error is at most the half-width
// times the page's frequency.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sources/system_clock.h"
#include "tests/sim/live_bench/bench.h"
#include "tests/sim/live_bench/children.h"

namespace vmrefclock::bench {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("interrupted") {}
};

int64_t mono_ns() {
    return read_clock_ns(CLOCK_MONOTONIC);
}

// Sleeps until the CLOCK_MONOTONIC deadline; throws Interrupted on SIGINT/SIGTERM/SIGHUP.
void sleep_until(int64_t deadline_mono_ns) {
    for (;;) {
        if (g_stop) throw Interrupted();
        const int64_t left = deadline_mono_ns - mono_ns();
        if (left <= 0) return;
        const int64_t step = std::min<int64_t>(left, 100'000'000);
        timespec ts{static_cast<time_t>(step / 1'000'000'000),
                    static_cast<long>(step % 1'000'000'000)};
        nanosleep(&ts, nullptr);
    }
}

// ---------------------------------------------------------------- status socket
// One request to vmrefclockd's status socket (harness.h), nullopt unless it answered ok.
std::optional<nlohmann::json> ask(const std::string& socket_path, const nlohmann::json& request) {
    nlohmann::json r = test::ask_status_socket(socket_path, request);
    if (!r.value("ok", false)) return std::nullopt;
    return r;
}

// Takes one reading of chrony's estimate: the narrowest of up to three exchanges.
void sample_row(Row& row, const TruthHistory& truth, Phase phase) {
    std::optional<Point> best;
    for (int attempt = 0; attempt < 3; ++attempt) {
        int64_t pre = 0, post = 0;
        ++row.requests;
        auto t = row.cmd->tracking(&pre, &post, 500);
        if (!t) continue;
        Point p;
        p.half_ns = (post - pre) / 2;
        p.t_ns = pre + p.half_ns;
        p.est_ns = t->correction_s * 1e9;
        p.err_ns = p.est_ns - truth.at(p.t_ns);
        p.phase = phase;
        if (!best || p.half_ns < best->half_ns) best = p;
        if (best->half_ns < 100'000) break;
    }
    if (best) row.points.push_back(*best);
}

// The daemon's recent samples, merged into row.samples. With `counted`, what answering
// cost the daemon is recorded, to take the bench's own requests out of its CPU figure.
void fetch_samples(Row& row, bool counted = false) {
    if (!row.is_daemon()) return;
    const int n = std::min(256, static_cast<int>(25.0 / row.interval) + 16);
    const int64_t c0 = cpu_ns(row.feeder_pid);
    auto r = ask(row.status_sock, {{"cmd", "samples"}, {"n", n}});
    const int64_t c1 = cpu_ns(row.feeder_pid);
    if (counted && c0 >= 0 && c1 >= c0) row.fetch_cost_ns.push_back(static_cast<double>(c1 - c0));
    if (!r || !(*r)["samples"].is_array()) return;
    for (const auto& s : (*r)["samples"]) {
        try {
            DaemonSample d{s.at("time_ns").get<int64_t>(), s.at("offset_ns").get<double>(),
                           s.at("error_ns").get<int64_t>(), s.at("sent").get<bool>()};
            row.samples[d.time_ns] = d;
        } catch (...) {
        }
    }
}

// CPU marks of the steady-state window. The status request (for the daemon's poll count)
// is made outside the window: before the CPU is read at its start, after it at its end.
CpuMark cpu_mark(Row& row, bool at_start) {
    CpuMark m;
    auto read_cpu = [&] {
        m.mono_ns = mono_ns();
        m.chronyd_ns = cpu_ns(row.chronyd_pid);
        m.feeder_ns = cpu_ns(row.feeder_pid);
        m.requests = row.requests;
    };
    if (!at_start) read_cpu();
    if (row.is_daemon()) {
        if (auto r = ask(row.status_sock, {{"cmd", "status"}})) {
            const auto& s = (*r)["status"];
            m.polls = s.value("polls", int64_t{-1});
            if (s.contains("host") && s["host"].is_object() &&
                s["host"].contains("time_maxerror_ns") && s["host"]["time_maxerror_ns"].is_number())
                row.maxerror_ns = s["host"]["time_maxerror_ns"].get<uint64_t>();
        }
    }
    if (at_start) read_cpu();
    return m;
}

// ---------------------------------------------------------------- the run
std::string chrony_conf(const Row& r) {
    return "refclock SOCK " + r.refclock_sock + " refid VMCK poll 2 precision 1e-7\n" +
           "bindcmdaddress " + r.cmd_sock + "\ncmdport 0\nport 0\npidfile " + r.dir +
           "/chronyd.pid\n";
}

std::string daemon_conf(const Row& r, const std::string& page, const std::string& chronyc) {
    char interval[32];
    std::snprintf(interval, sizeof interval, "%g", r.interval);
    return "[source]\ntype = \"vmclock\"\npath = \"" + page + "\"\ninterval = " + interval +
           "\n[chrony]\nsocket = \"" + r.refclock_sock + "\"\ncontrol_socket = \"" +
           (r.feeder == "noreset" ? std::string() : r.cmd_sock) + "\"\npoll = 2\nchronyc = \"" +
           chronyc + "\"\n[status]\nsocket = \"" + r.status_sock + "\"\n[log]\nlevel = \"info\"\n";
}

int run(const Options& o) {
    Children children;
    char tmpl[] = "/tmp/vmr-livebench.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    const std::string work = tmpl;  // 0700: chronyd wants its socket directory private
    struct Cleanup {
        Children& children;
        std::string dir;
        bool keep;
        ~Cleanup() {
            children.stop_all();
            if (keep) {
                std::fprintf(stderr, "live-bench: kept %s\n", dir.c_str());
            } else {
                std::error_code ec;
                std::filesystem::remove_all(dir, ec);
            }
        }
    } cleanup{children, work, o.keep};

    auto say = [](const std::string& s) {
        std::fprintf(stderr, "live-bench: %s\n", s.c_str());
        std::fflush(stderr);
    };

    // The load, first, so that everything else starts under it.
    if (o.busy) {
        const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        for (long i = 0; i < std::max(2L, cpus); ++i) children.spin();
        say("busy: " + std::to_string(std::max(2L, cpus)) + " spinning processes");
    }

    // The host.
    const std::string page = work + "/vmclock0", truth_file = work + "/truth";
    char num[4][64];
    std::snprintf(num[0], sizeof num[0], "%.12g", o.offset_s);
    std::snprintf(num[1], sizeof num[1], "%.12g", o.freq_ppm);
    std::snprintf(num[2], sizeof num[2], "%.12g", o.step_s);
    std::snprintf(num[3], sizeof num[3], "%llu", static_cast<unsigned long long>(o.maxerror_ns));
    const pid_t sim =
        children.spawn({o.bin + "/vmclock-sim", "--page", page, "--offset", num[0], "--freq-ppm",
                        num[1], "--update-interval", "1", "--truth-file", truth_file,
                        "--disrupt-step", num[2], "--maxerror-ns", num[3], "--seed", "1"},
                       work + "/sim.log");
    const int64_t sim_start = mono_ns();
    std::optional<Truth> t0;
    for (int i = 0; i < 100 && !(t0 = read_truth(truth_file)); ++i)
        sleep_until(mono_ns() + 100'000'000);
    if (!t0 || !children.running(sim))
        throw std::runtime_error("vmclock-sim did not start; see " + work + "/sim.log");
    TruthHistory truth{*t0, std::nullopt, 0};

    // The chronyds, one per row.
    std::vector<std::unique_ptr<Row>> rows;
    for (const auto& [label, chronyd] : o.chronyds) {
        const std::string version = version_of(chronyd);
        for (double interval : o.intervals) {
            for (const char* feeder : {"default", "noreset", "naive"}) {
                auto r = std::make_unique<Row>();
                r->version = label;
                r->chronyd = chronyd + " (" + version + ")";
                r->feeder = feeder;
                r->interval = interval;
                r->dir = work + "/" + r->name();
                if (mkdir(r->dir.c_str(), 0700) != 0) throw std::runtime_error("mkdir " + r->dir);
                r->cmd_sock = r->dir + "/chronyd.sock";
                r->refclock_sock = r->dir + "/refclock.sock";
                r->status_sock = r->dir + "/status.sock";
                test::write_file(r->dir + "/chrony.conf", chrony_conf(*r));
                r->chronyd_pid = children.spawn(
                    {chronyd, "-x", "-d", "-u", "root", "-f", r->dir + "/chrony.conf"},
                    r->dir + "/chronyd.log");
                r->cmd = std::make_unique<ChronyCmd>(r->cmd_sock, r->dir + "/bench.sock");
                rows.push_back(std::move(r));
            }
        }
        say("chronyd " + label + ": " + chronyd + " (version " + version + ")");
    }
    for (auto& r : rows) {
        const int64_t deadline = mono_ns() + 15'000'000'000;
        while (!r->cmd->tracking(nullptr, nullptr, 200)) {
            if (!children.running(r->chronyd_pid) || mono_ns() > deadline)
                throw std::runtime_error("chronyd " + r->name() + " did not start: " +
                                         r->cmd->last_error() + "; see " + r->dir + "/chronyd.log");
            sleep_until(mono_ns() + 50'000'000);
        }
    }
    // vmclock-sim calibrates its counter over 100 ms at start and refines it at every
    // update: in its first seconds the page's clock is off the truth by tens of ns. The
    // feeders start once that has settled, so the bench scores them, not the simulator.
    constexpr int64_t kSimSettle = 10'000'000'000;
    if (mono_ns() < sim_start + kSimSettle) say("letting vmclock-sim's counter calibration settle");
    sleep_until(sim_start + kSimSettle);
    say(std::to_string(rows.size()) + " chronyds up; starting the feeders");

    // The feeders, all at once.
    for (auto& r : rows) {
        char interval[32];
        std::snprintf(interval, sizeof interval, "%g", r->interval);
        r->start_ns = test::realtime_ns();
        if (r->is_daemon()) {
            test::write_file(r->dir + "/vmrefclockd.toml", daemon_conf(*r, page, o.chronyc));
            r->feeder_pid =
                children.spawn({o.bin + "/vmrefclockd", "-c", r->dir + "/vmrefclockd.toml"},
                               r->dir + "/feeder.log");
        } else {
            r->feeder_pid =
                children.spawn({o.bin + "/naive-feeder", page, r->refclock_sock, interval},
                               r->dir + "/feeder.log");
        }
    }
    const int64_t start_mono = mono_ns();
    auto check_alive = [&] {
        if (!children.running(sim))
            throw std::runtime_error("vmclock-sim exited; see " + work + "/sim.log");
        for (auto& r : rows) {
            if (!children.running(r->chronyd_pid))
                throw std::runtime_error("chronyd " + r->name() + " exited; see " + r->dir +
                                         "/chronyd.log");
            if (!children.running(r->feeder_pid))
                throw std::runtime_error("feeder " + r->name() + " exited; see " + r->dir +
                                         "/feeder.log");
        }
    };
    auto round = [&](Phase phase) {
        for (auto& r : rows) sample_row(*r, truth, phase);
    };
    constexpr int64_t kFast = 200'000'000, kSlow = 1'000'000'000;

    // Warm-up: every 0.2 s, for the time to within 1 µs from the start.
    say("warm-up " + fmt("%.0f", o.warmup_s) + " s");
    int64_t next = start_mono;
    const int64_t steady_from = start_mono + static_cast<int64_t>(o.warmup_s * 1e9);
    while (next < steady_from) {
        sleep_until(next);
        round(Phase::warmup);
        next += kFast;
    }
    check_alive();
    for (auto& r : rows) fetch_samples(*r);

    // Steady state: every 1 s; sourcestats every 10 s; the daemons' samples every 20 s.
    say("steady state " + fmt("%.0f", o.seconds) + " s");
    for (auto& r : rows) r->cpu0 = cpu_mark(*r, true);
    const int64_t steady_to = steady_from + static_cast<int64_t>(o.seconds * 1e9);
    int64_t next_stats = steady_from, next_fetch = steady_from + 20'000'000'000;
    next = steady_from;
    while (next < steady_to) {
        sleep_until(next);
        round(Phase::steady);
        if (next >= next_stats) {
            for (auto& r : rows) {
                r->requests += 2;
                auto s = r->cmd->sourcestats(500);
                if (!s) continue;
                r->sd_ns.push_back(s->sd_s * 1e9);
                int64_t pre = 0, post = 0;
                if (auto t = r->cmd->tracking(&pre, &post, 500); t && post - pre < 1'000'000) {
                    const int64_t mid = pre + (post - pre) / 2;
                    r->alt_err_ns.push_back((t->correction_s - s->est_offset_s) * 1e9 -
                                            truth.at(mid));
                }
            }
            next_stats += 10'000'000'000;
        }
        if (next >= next_fetch) {
            for (auto& r : rows) fetch_samples(*r, true);
            next_fetch += 20'000'000'000;
            check_alive();
        }
        next += kSlow;
    }
    sleep_until(steady_to);
    for (auto& r : rows) r->cpu1 = cpu_mark(*r, false);
    for (auto& r : rows) fetch_samples(*r);
    check_alive();

    // The disruption: a new marker, the host clock steps.
    say("disruption: the page's clock steps " + fmt("%+.3f", o.step_s * 1e3) + " ms, new marker");
    kill(sim, SIGUSR1);
    const int64_t give_up = mono_ns() + 5'000'000'000;
    for (;;) {
        auto t = read_truth(truth_file);
        if (t && t->disruptions > truth.before.disruptions) {
            truth.after = *t;
            truth.step_at_ns = t->realtime_ns;
            break;
        }
        if (mono_ns() > give_up)
            throw std::runtime_error("vmclock-sim did not take the disruption");
        sleep_until(mono_ns() + 2'000'000);
    }

    // Recovery: every 0.2 s.
    say("recovery " + fmt("%.0f", o.recovery_s) + " s");
    const int64_t recovery_to = mono_ns() + static_cast<int64_t>(o.recovery_s * 1e9);
    next = mono_ns();
    next_fetch = next + 20'000'000'000;
    while (next < recovery_to) {
        sleep_until(next);
        round(Phase::recovery);
        if (next >= next_fetch) {
            for (auto& r : rows) fetch_samples(*r);
            next_fetch += 20'000'000'000;
        }
        next += kFast;
    }
    for (auto& r : rows) fetch_samples(*r);
    check_alive();

    // What one bench request costs each chronyd version, to take the bench's own queries
    // out of chronyd's CPU figure.
    std::map<std::string, double> request_cost_ns;
    for (auto& r : rows) {
        if (request_cost_ns.count(r->version)) continue;
        const int kN = 400;
        const int64_t c0 = cpu_ns(r->chronyd_pid);
        for (int i = 0; i < kN; ++i) r->cmd->tracking(nullptr, nullptr, 500);
        const int64_t c1 = cpu_ns(r->chronyd_pid);
        request_cost_ns[r->version] = c0 >= 0 && c1 >= c0 ? static_cast<double>(c1 - c0) / kN : 0;
    }
    children.stop_all();

    return report(o, rows, truth, request_cost_ns);
}

}  // namespace
}  // namespace vmrefclock::bench

int main(int argc, char** argv) {
    using namespace vmrefclock::bench;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    try {
        return run(parse_options(argc, argv));
    } catch (const Interrupted&) {
        std::fprintf(stderr, "live-bench: interrupted; every process it started is stopped\n");
        return 130;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "vmrefclock-live-bench: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "live-bench: %s\n", e.what());
        return 1;
    }
}

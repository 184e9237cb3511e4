// Operations, tried as an operator would with real processes: chronyd restarting, the
// status socket's directory missing or its socket deleted, a second daemon, slow clients
// holding every slot, --check-config against startup, signals, diagnostics that follow
// the config, and a guest with no clock source at all.
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kChronyPoll = 2;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

int count_lines(const std::string& text, const std::string& needle) {
    std::istringstream in(text);
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
    return n;
}

std::string ctl(const std::string& socket, const std::vector<std::string>& args, int* rc) {
    std::vector<std::string> argv{bin_dir() + "/vmrefclockctl", "-s", socket};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, rc);
}

// Runs a daemon that should exit on its own; kills it after `limit` if it does not.
struct Exit {
    bool exited = false;
    int code = -1;
    std::string output;
};
Exit run_until_exit(const std::vector<std::string>& argv, const std::string& log,
                    std::chrono::milliseconds limit = 5000ms) {
    Process p(argv, log);
    Exit out;
    out.exited = wait_until([&] { return !p.running(); }, limit, 20ms);
    const int status = p.stop();
    out.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    out.output = p.log();
    return out;
}

// Sends `signo` and returns how long the process took to exit, in seconds (-1: it did
// not within 5 s), and its wait status.
std::pair<double, int> time_to_exit(Process& p, int signo = SIGTERM) {
    const auto t0 = Clock::now();
    p.signal(signo);
    const bool gone = wait_until([&] { return !p.running(); }, 5000ms, 5ms);
    const double took = gone ? seconds_since(t0) : -1;
    return {took, p.stop()};
}

// chronyd's refclocks.log: the sample time of every line, as CLOCK_REALTIME ns.
std::vector<int64_t> refclock_sample_times(const std::string& path) {
    std::vector<int64_t> times;
    std::istringstream in(read_file(path));
    for (std::string line; std::getline(in, line);) {
        std::tm tm{};
        double frac = 0;
        char rest[32];
        if (std::sscanf(line.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%lf %31s", &tm.tm_year, &tm.tm_mon,
                        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac, rest) != 8) {
            continue;
        }
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        times.push_back(static_cast<int64_t>(timegm(&tm)) * 1'000'000'000 +
                        static_cast<int64_t>(std::llround(frac * 1e9)));
    }
    return times;
}

int64_t ctime_ns(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return 0;
    return static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
}

// ---------------------------------------------------------------------------------
// 1. chronyd restarts: samples reach the new chronyd within 1 s of its socket
// appearing, however long it was away, and the outage costs one warning.
// VMR_OUTAGE_S sets the outage (default 8 s: twice the back-off cap at poll 2).

TEST(ChronydRestart, SamplesReachTheNewChronydWithinASecond) {
    const char* env = std::getenv("VMR_OUTAGE_S");
    const double outage_s = env && *env ? std::atof(env) : 8.0;
    TempDir dir("vmr-restart");
    const std::string page = dir.file("vmclock0"), truth = dir.file("truth");
    const std::string logdir = dir.file("chronylog");
    std::filesystem::create_directory(logdir);
    const std::string refclocks = logdir + "/refclocks.log";
    const std::string extra = "logdir " + logdir + "\nlog refclocks\n";
    auto sim = start_vmclock_sim(dir, page, truth, 0.00025, 3);
    auto chrony = std::make_unique<Chrony>(dir, kChronyPoll, extra);
    const std::string status = dir.file("status.sock");
    write_file(dir.file("d.toml"), vmclock_daemon_config(page, *chrony, kChronyPoll, status));
    Process daemon({bin_dir() + "/vmrefclockd", "-c", dir.file("d.toml")}, dir.file("d.log"));
    ASSERT_TRUE(wait_until([&] { return refclock_sample_times(refclocks).size() >= 4; }, 15s))
        << daemon.log() << chrony->log();

    // chronyd goes away (a package upgrade, a crash loop) ...
    const std::string sock = chrony->sock_path();
    chrony.reset();
    ASSERT_FALSE(std::filesystem::exists(sock));
    const size_t log_before = daemon.log().size();
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(outage_s * 1000)));
    const std::string outage_log = daemon.log().substr(log_before);
    std::filesystem::remove(refclocks);

    // ... and comes back. Its socket's creation time is when it could first be reached.
    chrony = std::make_unique<Chrony>(dir, kChronyPoll, extra);
    const int64_t socket_born = ctime_ns(sock);
    ASSERT_TRUE(wait_until([&] { return !refclock_sample_times(refclocks).empty(); }, 10s))
        << daemon.log() << chrony->log();
    const int64_t first_sample = refclock_sample_times(refclocks).front();
    const double latency_s = static_cast<double>(first_sample - socket_born) / 1e9;
    const int warnings = count_lines(outage_log, "warning");
    std::printf(
        "chronyd away %.0f s: first sample in the new chronyd %.1f ms after its socket "
        "appeared; %d warning(s) during the outage:\n%s",
        outage_s, latency_s * 1e3, warnings, outage_log.c_str());
    EXPECT_LT(latency_s, 1.0);
    EXPECT_GE(latency_s, -0.001);  // a sample of after the socket appeared
    // At most one warning a minute while chronyd is down.
    EXPECT_LE(warnings, 1 + static_cast<int>(outage_s / 60)) << outage_log;
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

// ---------------------------------------------------------------------------------
// 2. The status socket: its directory created, the socket re-created when deleted, and
// one daemon per socket.

struct Feeding {
    TempDir dir{"vmr-ops"};
    std::string page = dir.file("vmclock0"), truth = dir.file("truth");
    std::unique_ptr<Process> sim = start_vmclock_sim(dir, page, truth, 0.00025, 3);
    Chrony chrony{dir, kChronyPoll};
    std::string socket;
    std::string config = dir.file("d.toml");
    std::unique_ptr<Process> daemon;

    explicit Feeding(std::string status_socket = "", const std::string& extra = "")
        : socket(status_socket.empty() ? dir.file("status.sock") : std::move(status_socket)) {
        chmod(dir.path().c_str(), 0755);
        write_file(config, vmclock_daemon_config(page, chrony, kChronyPoll, socket, extra));
        daemon = std::make_unique<Process>(
            std::vector<std::string>{bin_dir() + "/vmrefclockd", "-c", config}, dir.file("d.log"));
    }
    bool wait_ok(std::chrono::seconds limit = 15s) const {
        return wait_until(
            [&] {
                json s = status_of(socket);
                return s.is_object() && s["state"] == "ok";
            },
            limit);
    }
};

TEST(StatusSocket, MissingDirectoryDeletedSocketAndASecondDaemon) {
    TempDir holder("vmr-ops");
    const std::string run_dir = holder.file("run/vmrefclock");  // neither exists
    Feeding f(run_dir + "/status.sock");
    ASSERT_TRUE(f.wait_ok()) << f.daemon->log();
    struct stat st {};
    ASSERT_EQ(stat(run_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    int rc = -1;
    EXPECT_NE(ctl(f.socket, {"status"}, &rc).find("state:        ok"), std::string::npos);
    EXPECT_EQ(rc, 0);

    // Deleted: vmrefclockctl works again within 2 s.
    ASSERT_EQ(unlink(f.socket.c_str()), 0);
    auto t0 = Clock::now();
    ASSERT_TRUE(wait_until(
        [&] {
            ctl(f.socket, {"status"}, &rc);
            return rc == 0;
        },
        2s, 10ms))
        << f.daemon->log();
    const double back_after_unlink = seconds_since(t0);
    // The whole directory, too.
    std::filesystem::rename(holder.file("run"), holder.file("gone"));
    t0 = Clock::now();
    ASSERT_TRUE(wait_until(
        [&] {
            ctl(f.socket, {"status"}, &rc);
            return rc == 0;
        },
        2s, 10ms))
        << f.daemon->log();
    const double back_after_rmdir = seconds_since(t0);

    // A second daemon for the same socket exits at once, naming the first one's PID.
    Exit second = run_until_exit({bin_dir() + "/vmrefclockd", "-c", f.config}, f.dir.file("2.log"));
    EXPECT_TRUE(second.exited);
    EXPECT_EQ(second.code, 1);
    const std::string pid = read_file(f.socket + ".lock");
    ASSERT_FALSE(pid.empty());
    EXPECT_NE(second.output.find("another vmrefclockd (PID " + pid.substr(0, pid.find('\n')) +
                                 ") holds " + f.socket + ".lock"),
              std::string::npos)
        << second.output;
    EXPECT_TRUE(f.daemon->running());
    std::printf(
        "vmrefclockctl status works again %.3f s after the socket was deleted, %.3f s after its "
        "directory was; second daemon: %s",
        back_after_unlink, back_after_rmdir, second.output.c_str());
    EXPECT_EQ(f.daemon->stop(), 0) << f.daemon->log();
}

// 3. Sixteen members of the status group trickle one byte every 5 s each and hold every
// slot; root's `vmrefclockctl reset` still succeeds.
TEST(StatusSocket, RootResetsUnderSixteenSlowClients) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to run clients as another user";
    const group* daemon_group = getgrnam("daemon");
    if (!daemon_group) GTEST_SKIP() << "no group \"daemon\"";
    Feeding f("", "");
    // The status group: its members may connect (and reset); the slow clients are members.
    std::string config = read_file(f.config);
    config.replace(config.find("[status]\n"), 9, "[status]\ngroup = \"daemon\"\n");
    f.daemon->stop();
    write_file(f.config, config);
    f.daemon = std::make_unique<Process>(
        std::vector<std::string>{bin_dir() + "/vmrefclockd", "-c", f.config}, f.dir.file("d2.log"));
    ASSERT_TRUE(f.wait_ok()) << f.daemon->log();

    // Each of 16 connections sends one byte every 5 s; one that is closed is opened
    // again at once, so every slot stays taken.
    const std::string script = R"(
import socket, sys, time
path, n = sys.argv[1], 16
socks, last = [None] * n, [0.0] * n
stats = {"connects": 0, "closed_by_server": 0}
next_print = time.time() + 5
while True:
    for i in range(n):
        try:
            if socks[i] is None:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                s.setblocking(False)
                socks[i], last[i] = s, 0.0
                stats["connects"] += 1
            try:
                socks[i].recv(4096)
                stats["closed_by_server"] += 1
                socks[i].close()
                socks[i] = None
                continue
            except BlockingIOError:
                pass
            if time.time() - last[i] >= 5:
                socks[i].send(b"{")
                last[i] = time.time()
        except OSError:
            if socks[i] is not None:
                socks[i].close()
            socks[i] = None
    if time.time() >= next_print:
        print(stats, flush=True)
        next_print += 5
    time.sleep(0.1)
)";
    write_file(f.dir.file("slow.py"), script);
    Process slow({"setpriv", "--reuid=65534", "--regid=65534",
                  "--groups=" + std::to_string(daemon_group->gr_gid), "/usr/bin/python3",
                  f.dir.file("slow.py"), f.socket},
                 f.dir.file("slow.log"));
    std::this_thread::sleep_for(3s);  // every slot held
    ASSERT_TRUE(slow.running()) << slow.log();
    std::vector<double> took;
    for (int i = 0; i < 3; ++i) {
        int rc = -1;
        const auto t0 = Clock::now();
        const std::string out = ctl(f.socket, {"reset", "--reason", "under 16 slow clients"}, &rc);
        took.push_back(seconds_since(t0));
        EXPECT_EQ(rc, 0) << out;
        EXPECT_EQ(out, "reset done\n");
        EXPECT_EQ(out.find("Broken pipe"), std::string::npos);
        std::this_thread::sleep_for(2s);
    }
    json s = status_of(f.socket);
    EXPECT_GE(s["disruptions"]["count"].get<int>(), 3) << s.dump(2);
    std::printf("root reset under 16 slow clients: %.3f, %.3f, %.3f s; slow clients: %s", took[0],
                took[1], took[2], slow.log().c_str());
}

// ---------------------------------------------------------------------------------
// 4. --check-config fails exactly where startup fails, with the same words.

TEST(CheckConfig, RefusesWhatStartupRefusesWithTheSameMessage) {
    TempDir dir("vmr-check");
    // A valid config with `chrony` added to its [chrony] table and `before` in front.
    auto config = [&](const std::string& chrony, const std::string& before = "") {
        return before + "[chrony]\nsocket = \"" + dir.file("chrony.sock") +
               "\"\ncontrol_socket = \"" + dir.file("chronyd.sock") + "\"\n" + chrony +
               "[status]\nsocket = \"" + dir.file("status.sock") + "\"\n";
    };
    struct Case {
        std::string name;
        std::string toml;
        std::string expected;  // in both outputs
    };
    const std::vector<Case> cases = {
        {"missing group", config("") + "group = \"no-such-group-vmr\"\n",
         "[status] group \"no-such-group-vmr\": no such group"},
        {"missing chronyc", config("chronyc = \"/nonexistent/chronyc\"\n"),
         "[chrony] chronyc \"/nonexistent/chronyc\" cannot be run: /nonexistent/chronyc does not "
         "exist"},
        {"chronyc not in PATH", config("chronyc = \"no-such-chronyc-vmr\"\n"),
         "[chrony] chronyc \"no-such-chronyc-vmr\" cannot be run: no executable"},
        {"relative chronyc", config("chronyc = \"bin/chronyc\"\n"),
         "[chrony] chronyc: must be a program name (looked up in PATH) or an absolute path"},
        {"relative source path", config("", "[source]\ntype = \"vmclock\"\npath = \"vmclock0\"\n"),
         "[source] path: must be an absolute path"},
        {"relative sysfs_root", config("", "[source]\nsysfs_root = \"sys\"\n"),
         "[source] sysfs_root: must be an absolute path"},
        {"relative dev_root", config("", "[source]\ndev_root = \"dev\"\n"),
         "[source] dev_root: must be an absolute path"},
        {"relative disruption page", config("", "[disruption]\nvmclock = \"vmclock0\"\n"),
         "[disruption] vmclock: must be an absolute path"},
        // 1 MB: under the 1 MiB a configuration file may have (a larger file is refused
        // before parsing, tested in config_file_test), so the key reaches the parser.
        {"1 MB unknown key", config(std::string(1'000'000, 'k') + " = 1\n"), "unknown key"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        write_file(dir.file("bad.toml"), c.toml);
        Exit check = run_until_exit(
            {bin_dir() + "/vmrefclockd", "--check-config", "-c", dir.file("bad.toml")},
            dir.file(c.name + ".check.log"));
        Exit start = run_until_exit({bin_dir() + "/vmrefclockd", "-c", dir.file("bad.toml")},
                                    dir.file(c.name + ".start.log"));
        EXPECT_TRUE(check.exited && start.exited);
        EXPECT_EQ(check.code, 1) << check.output;
        EXPECT_EQ(start.code, 1) << start.output;
        EXPECT_NE(check.output.find(c.expected), std::string::npos) << check.output;
        EXPECT_EQ(check.output, start.output);  // the same lines, word for word
        EXPECT_LE(check.output.size(), 1100u);  // capped, whatever the file holds
        std::printf("%-26s exit %d/%d, %zu bytes: %s", c.name.c_str(), check.code, start.code,
                    check.output.size(), check.output.c_str());
    }

    // Interval 60 s against poll -4: both warn in the same words (and both go on).
    write_file(dir.file("slow.toml"), config("poll = -4\n", "[source]\ninterval = 60\n"));
    Exit check =
        run_until_exit({bin_dir() + "/vmrefclockd", "--check-config", "-c", dir.file("slow.toml")},
                       dir.file("slow.check.log"));
    EXPECT_EQ(check.code, 0) << check.output;
    const std::string warning = check.output.substr(0, check.output.find('\n'));
    EXPECT_NE(warning.find("vmrefclockd: warning: [source] interval = 60 s gives 0.00104 sample"),
              std::string::npos)
        << check.output;
    Process start({bin_dir() + "/vmrefclockd", "-c", dir.file("slow.toml")},
                  dir.file("slow.start.log"));
    ASSERT_TRUE(wait_until([&] { return start.log().find("warning") != std::string::npos; }, 5s));
    EXPECT_NE(start.log().find(warning.substr(std::string("vmrefclockd: warning: ").size())),
              std::string::npos)
        << start.log();
    std::printf("interval vs poll: %s\n", warning.c_str());
}

// ---------------------------------------------------------------------------------
// 5. Signals: SIGPIPE and SIGUSR2 ignored, SIGUSR1 logs the status, SIGTERM within 1 s
// in every state.

TEST(Signals, PipeAndUserSignalsDoNotKillIt) {
    Feeding f;
    ASSERT_TRUE(f.wait_ok()) << f.daemon->log();
    f.daemon->signal(SIGUSR1);
    ASSERT_TRUE(wait_until(
        [&] {
            return f.daemon->log().find("info: status: ok: feeding chrony") != std::string::npos;
        },
        3s))
        << f.daemon->log();
    f.daemon->signal(SIGUSR2);
    std::this_thread::sleep_for(500ms);
    EXPECT_TRUE(f.daemon->running());
    EXPECT_EQ(f.daemon->stop(), 0) << f.daemon->log();

    // `vmrefclockd ... 2>&1 | head -1`: stderr is a pipe nobody reads any more.
    const std::string cmd = "exec " + bin_dir() + "/vmrefclockd -c " + f.config + " 2>&1 | head -1";
    Process piped({"sh", "-c", cmd}, f.dir.file("piped.log"));
    ASSERT_TRUE(f.wait_ok()) << piped.log();
    std::this_thread::sleep_for(1s);  // head has exited; the daemon writes more lines
    f.daemon = nullptr;
    int rc = -1;
    ctl(f.socket, {"reset"}, &rc);  // makes it log (a disruption, a chrony reset)
    std::this_thread::sleep_for(1s);
    json s = status_of(f.socket);
    EXPECT_TRUE(s.is_object()) << "the daemon died writing to a closed pipe";
    EXPECT_GE(s.value("disruptions", json::object()).value("count", 0), 1);
    std::printf("first line through head: %s", piped.log().c_str());
    // Clean up the daemon behind the pipe through its own socket's lock file PID.
    const std::string pid = read_file(f.socket + ".lock");
    if (!pid.empty()) kill(std::atoi(pid.c_str()), SIGTERM);
}

TEST(Signals, SigtermExitsWithinASecondInEveryState) {
    TempDir dir("vmr-term");
    const std::string page = dir.file("vmclock0"), truth = dir.file("truth");
    auto sim = start_vmclock_sim(dir, page, truth, 0.00025, 3);
    Chrony chrony(dir, kChronyPoll);
    // A chronyc that hangs, so a reset leaves a child running at SIGTERM.
    write_file(dir.file("hanging-chronyc"),
               "#!/bin/sh\ncase \"$1\" in --*) exit 0;; esac\nexec sleep 30\n");
    chmod(dir.file("hanging-chronyc").c_str(), 0755);
    std::vector<std::pair<std::string, double>> results;
    auto measure = [&](const std::string& state, const std::string& config,
                       const std::function<bool(const std::string& socket)>& reach) {
        SCOPED_TRACE(state);
        const std::string socket = dir.file("s-" + std::to_string(results.size()) + ".sock");
        write_file(dir.file("t.toml"), config + "[status]\nsocket = \"" + socket + "\"\n");
        Process d({bin_dir() + "/vmrefclockd", "-c", dir.file("t.toml")},
                  dir.file("t-" + std::to_string(results.size()) + ".log"));
        ASSERT_TRUE(wait_until([&] { return reach(socket); }, 20s, 50ms)) << d.log();
        auto [took, status] = time_to_exit(d);
        results.emplace_back(state, took);
        EXPECT_GE(took, 0) << d.log();
        EXPECT_LT(took, 1.0) << d.log();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << d.log();
    };
    auto state_is = [](const std::string& want) {
        return [want](const std::string& socket) {
            json s = status_of(socket);
            return s.is_object() && s["state"] == want;
        };
    };
    const std::string feeding = "[source]\ntype = \"vmclock\"\npath = \"" + page +
                                "\"\n[chrony]\nsocket = \"" + chrony.sock_path() +
                                "\"\ncontrol_socket = \"" + chrony.command_socket() + "\"\n";
    measure("just started (socket up)", feeding,
            [](const std::string& socket) { return std::filesystem::exists(socket); });
    measure("ok", feeding, state_is("ok"));
    measure("holdoff with a hanging chronyc",
            "[source]\ntype = \"vmclock\"\npath = \"" + page + "\"\n[chrony]\nsocket = \"" +
                chrony.sock_path() + "\"\ncontrol_socket = \"" + chrony.command_socket() +
                "\"\nchronyc = \"" + dir.file("hanging-chronyc") + "\"\n",
            [&](const std::string& socket) {
                if (!state_is("ok")(socket)) return false;
                int rc = -1;
                ctl(socket, {"reset"}, &rc);
                return rc == 0 && state_is("holdoff")(socket);
            });
    measure("degraded (no chronyd)",
            "[source]\ntype = \"vmclock\"\npath = \"" + page + "\"\n[chrony]\nsocket = \"" +
                dir.file("absent/chrony.sock") + "\"\ncontrol_socket = \"\"\n",
            state_is("degraded"));
    std::filesystem::create_directories(dir.file("empty/sys/class/ptp"));
    measure("no-source",
            "[source]\nsysfs_root = \"" + dir.file("empty/sys") + "\"\ndev_root = \"" +
                dir.file("empty/dev") + "\"\n[disruption]\nvmclock = \"" +
                dir.file("empty/dev/vmclock0") + "\"\n[chrony]\nsocket = \"" + chrony.sock_path() +
                "\"\ncontrol_socket = \"\"\n",
            state_is("no-source"));
    std::vector<int> held;
    measure("ok with 16 idle clients", feeding, [&](const std::string& socket) {
        if (!state_is("ok")(socket)) return false;
        for (int i = 0; i < 16; ++i) {
            int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            socket.copy(addr.sun_path, sizeof addr.sun_path - 1);
            connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
            send(fd, "{", 1, MSG_NOSIGNAL);
            held.push_back(fd);
        }
        return true;
    });
    for (int fd : held) close(fd);
    for (const auto& [state, took] : results) {
        std::printf("SIGTERM in %-32s exit after %.3f s\n", state.c_str(), took);
    }
}

// ---------------------------------------------------------------------------------
// 6. Diagnostics follow the config: type = "vmclock" with a path outside /dev.

TEST(Diagnostics, ShowTheSourceTheConfigNames) {
    TempDir holder("vmr-diag");
    std::filesystem::create_directories(holder.file("dev"));
    std::filesystem::create_directories(holder.file("sys/class/ptp"));
    Feeding f("", "");
    // The daemon's roots hold nothing: only the configured path has a page.
    std::string config = read_file(f.config);
    config.replace(config.find("[source]\n"), 9,
                   "[source]\nsysfs_root = \"" + holder.file("sys") + "\"\ndev_root = \"" +
                       holder.file("dev") + "\"\n");
    write_file(f.config, config);
    f.daemon->stop();
    f.daemon = std::make_unique<Process>(
        std::vector<std::string>{bin_dir() + "/vmrefclockd", "-c", f.config}, f.dir.file("d2.log"));
    ASSERT_TRUE(f.wait_ok()) << f.daemon->log();

    int rc = -1;
    const std::string listed =
        run_command({bin_dir() + "/vmrefclockd", "--list-sources", "-c", f.config}, &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_NE(listed.find("configured: [source] type = \"vmclock\", path = \"" + f.page + "\""),
              std::string::npos)
        << listed;
    EXPECT_NE(listed.find("time source: vmclock " + f.page + "\n"), std::string::npos) << listed;
    EXPECT_NE(listed.find("reason: the configuration names this page"), std::string::npos);
    EXPECT_EQ(listed.find("time source: none"), std::string::npos) << listed;

    const std::string sources = ctl(f.socket, {"-c", f.config, "sources"}, &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_NE(sources.find("time source: vmclock " + f.page), std::string::npos) << sources;
    EXPECT_NE(sources.find("in use: vmclock " + f.page), std::string::npos) << sources;

    const std::string doctor = run_command({bin_dir() + "/vmrefclockctl", "-c", f.config, "doctor",
                                            "--chrony-conf", f.dir.file("chrony.conf")},
                                           &rc);
    EXPECT_NE(doctor.find("[pass] time source present and readable: vmclock " + f.page +
                          " ([source] type = \"vmclock\", path = \"" + f.page + "\")"),
              std::string::npos)
        << doctor;
    std::printf("--list-sources:\n%s\nvmrefclockctl sources:\n%s\ndoctor:\n%s", listed.c_str(),
                sources.c_str(), doctor.c_str());
}

// ---------------------------------------------------------------------------------
// 7. A guest without a clock source: the daemon stays up in no-source, tells systemd it
// is ready (and keeps the watchdog fed), and picks up a page that appears later.

class NotifyListener {
  public:
    explicit NotifyListener(const std::string& path) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path.copy(addr.sun_path, sizeof addr.sun_path - 1);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("bind " + path);
        }
    }
    ~NotifyListener() { close(fd_); }
    const std::vector<std::string>& messages() {
        char buf[4096];
        for (ssize_t n; (n = recv(fd_, buf, sizeof buf, 0)) > 0;) {
            std::istringstream lines(std::string(buf, static_cast<size_t>(n)));
            for (std::string line; std::getline(lines, line);) messages_.push_back(line);
        }
        return messages_;
    }
    int count(const std::string& prefix) {
        int n = 0;
        for (const auto& m : messages()) n += m.rfind(prefix, 0) == 0;
        return n;
    }

  private:
    int fd_ = -1;
    std::vector<std::string> messages_;
};

TEST(NoClockSource, StaysUpReadyAndPicksUpAPageThatAppearsLater) {
    TempDir dir("vmr-nosrc");
    std::filesystem::create_directories(dir.file("sys/class/ptp"));
    std::filesystem::create_directories(dir.file("dev"));
    Chrony chrony(dir, kChronyPoll);
    const std::string socket = dir.file("status.sock");
    write_file(dir.file("d.toml"),
               "[source]\ntype = \"auto\"\nsysfs_root = \"" + dir.file("sys") +
                   "\"\ndev_root = \"" + dir.file("dev") + "\"\n[disruption]\nvmclock = \"" +
                   dir.file("dev/vmclock0") + "\"\n[chrony]\nsocket = \"" + chrony.sock_path() +
                   "\"\ncontrol_socket = \"" + chrony.command_socket() + "\"\npoll = 2\n" +
                   "[status]\nsocket = \"" + socket + "\"\n");
    NotifyListener notify(dir.file("notify.sock"));
    // As systemd sets them for WatchdogSec=4s.
    Process daemon({bin_dir() + "/vmrefclockd", "-c", dir.file("d.toml")}, dir.file("d.log"),
                   {"NOTIFY_SOCKET=" + dir.file("notify.sock"), "WATCHDOG_USEC=4000000"});
    ASSERT_TRUE(wait_until([&] { return notify.count("READY=1") == 1; }, 5s)) << daemon.log();
    json s = status_of(socket);
    ASSERT_TRUE(s.is_object()) << daemon.log();
    EXPECT_EQ(s["state"], "no-source");
    EXPECT_NE(s["reason"].get<std::string>().find("no time source found"), std::string::npos);
    EXPECT_GE(notify.count("STATUS=no-source: no time source found"), 1);
    // Still up 7 s later (longer than WatchdogSec), the watchdog fed all along.
    std::this_thread::sleep_for(7s);
    EXPECT_TRUE(daemon.running()) << daemon.log();
    const int pings = notify.count("WATCHDOG=1");
    EXPECT_GE(pings, 2);
    EXPECT_EQ(count_lines(daemon.log(), "warning"), 1) << daemon.log();

    // The device appears (a module loaded, a hotplug): picked up without a restart.
    const auto t0 = Clock::now();
    auto sim = start_vmclock_sim(dir, dir.file("dev/vmclock0"), dir.file("truth"), 0.00025, 3);
    ASSERT_TRUE(wait_until(
        [&] {
            json now = status_of(socket);
            return now.is_object() && now["state"] == "ok";
        },
        10s, 20ms))
        << daemon.log();
    const double pickup_s = seconds_since(t0);
    ASSERT_TRUE(wait_until([&] { return !chrony.reach().empty() && chrony.reach() != "0"; }, 15s))
        << chrony.chronyc({"sources"});
    EXPECT_EQ(notify.count("READY=1"), 1);
    auto [took, status] = time_to_exit(daemon);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    std::printf(
        "no source: READY sent, %d watchdog pings in 7 s, up all along; page picked up %.3f s "
        "after vmclock-sim started; chrony reach %s; exit 0 in %.3f s\n%s",
        pings, pickup_s, chrony.reach().c_str(), took, daemon.log().c_str());
}

// ---------------------------------------------------------------------------------
// 9. chronyc 4.8 drops root to its configured user (_chrony) unless given -u: a daemon run
// as root by hand still resets chrony, whichever user chronyd runs as, with the bare
// chronyc of each generation named in the config. (The packaged unit's credentials:
// service_credentials_test.)

struct GenerationCase {
    std::string chrony;        // "4.3", "4.8"
    std::string chronyd_user;  // "root" (sockets in a root-only directory), "_chrony"
};

void PrintTo(const GenerationCase& c, std::ostream* os) {
    *os << "chrony " << c.chrony << ", chronyd as " << c.chronyd_user;
}

class ChronycAsRoot : public ::testing::TestWithParam<GenerationCase> {};

TEST_P(ChronycAsRoot, ResetWorksForADaemonStartedByHand) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    std::optional<ChronyBuild> build;
    for (const auto& b : chrony_builds()) {
        if (b.name == GetParam().chrony) build = b;
    }
    if (!build) GTEST_SKIP() << "chrony " << GetParam().chrony << " is not built";
    const std::string& user = GetParam().chronyd_user;
    TempDir dir("vmr-chronyc");
    // A chronyd that drops to _chrony makes its run directory inside this one.
    if (user != "root") chmod(dir.path().c_str(), 0755);
    const std::string page = dir.file("vmclock0");
    auto sim = start_vmclock_sim(dir, page, dir.file("truth"), 0.00025, 3);
    Chrony chrony(dir, kChronyPoll, "", user, user == "root" ? "" : dir.file("run"), *build);
    const std::string bare = build->chronyc_argv.front();
    std::string config = vmclock_daemon_config(page, chrony, kChronyPoll, dir.file("status.sock"));
    const size_t at = config.find("chronyc = \"");
    config.replace(at, config.find('\n', at) - at, "chronyc = \"" + bare + "\"");
    write_file(dir.file("d.toml"), config);
    Process daemon({bin_dir() + "/vmrefclockd", "-c", dir.file("d.toml")}, dir.file("d.log"));
    ASSERT_TRUE(wait_until(
        [&] {
            json s = status_of(dir.file("status.sock"));
            return s.is_object() && s["state"] == "ok";
        },
        15s))
        << daemon.log();
    int rc = -1;
    ctl(dir.file("status.sock"), {"reset", "--reason", "chronyc " + build->name}, &rc);
    EXPECT_EQ(rc, 0);
    ASSERT_TRUE(wait_until(
        [&] { return daemon.log().find("chrony sources reset (") != std::string::npos; }, 10s))
        << daemon.log();
    EXPECT_EQ(daemon.log().find("chrony reset ("), std::string::npos) << daemon.log();
    const std::string command_line =
        daemon.log().substr(daemon.log().find("resetting chrony sources"));
    const bool drops_root = build->name != "4.3";
    EXPECT_EQ(command_line.find(bare + " -u root -h") != std::string::npos, drops_root)
        << command_line;
    // Without -u root, 4.8's chronyc run by root would drop to _chrony, which may not
    // enter a root chronyd's socket directory.
    const std::string unaided =
        run_command({bare, "-h", chrony.command_socket(), "reset", "sources"}, &rc);
    std::printf(
        "chronyc %s, chronyd as %s: %s   the same chronyc run as root without -u: exit %d "
        "%s\n",
        build->name.c_str(), user.c_str(),
        command_line.substr(0, command_line.find('\n') + 1).c_str(), rc,
        unaided.substr(0, unaided.find('\n')).c_str());
    if (drops_root && user == "root") {
        EXPECT_NE(rc, 0) << unaided;
    }
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

INSTANTIATE_TEST_SUITE_P(
    Generations, ChronycAsRoot,
    ::testing::Values(GenerationCase{"4.3", "root"}, GenerationCase{"4.3", "_chrony"},
                      GenerationCase{"4.8", "root"}, GenerationCase{"4.8", "_chrony"}),
    [](const auto& info) {
        std::string name = "chrony_" + info.param.chrony + "_chronyd_as_" + info.param.chronyd_user;
        for (char& c : name) {
            if (c == '.') c = '_';
        }
        return name;
    });

}  // namespace
}  // namespace vmrefclock::test

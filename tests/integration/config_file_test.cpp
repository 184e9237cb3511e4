// The configuration file as an adversary may leave it (issue 9): a FIFO, a character
// device or a directory in place of the file is refused at once, at start-up and at a
// SIGHUP reload, which must never block the event loop.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "tests/integration/harness.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// `vmrefclockd <args>` must end by itself within a second with exit code 1 and `expected`
// in its output.
void expect_refused_at_once(const TempDir& dir, const std::vector<std::string>& args,
                            const std::string& expected) {
    std::vector<std::string> argv = {bin_dir() + "/vmrefclockd"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto start = Clock::now();
    static int run = 0;
    Process daemon(argv, dir.file("refused-" + std::to_string(++run) + ".log"));
    const bool ended = wait_until([&] { return !daemon.running(); }, 5s, 5ms);
    const double took = seconds_since(start);
    const int status = daemon.stop();
    std::string joined;
    for (const std::string& a : args) joined += " " + a;
    std::printf("vmrefclockd%s: %s after %.3f s: %s", joined.c_str(),
                ended ? "exited" : "STILL RUNNING", took, daemon.log().c_str());
    ASSERT_TRUE(ended) << "vmrefclockd" << joined << " blocked\n" << daemon.log();
    EXPECT_LT(took, 1.0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << daemon.log();
    EXPECT_NE(daemon.log().find(expected), std::string::npos) << daemon.log();
}

TEST(ConfigFile, DevZeroFifoAndDirectoryAreRefusedAtOnce) {
    TempDir dir;
    const std::string fifo = dir.file("fifo.toml");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    for (bool check_only : {false, true}) {
        auto args = [&](const std::string& path) {
            std::vector<std::string> a = {"-c", path};
            if (check_only) a.push_back("--check-config");
            return a;
        };
        expect_refused_at_once(dir, args("/dev/zero"),
                               "cannot read /dev/zero: a character device, not a regular file");
        expect_refused_at_once(dir, args(fifo),
                               "cannot read " + fifo + ": a FIFO, not a regular file");
        expect_refused_at_once(dir, args(dir.path()),
                               "cannot read " + dir.path() + ": Is a directory");
    }
}

// The config path turns into a FIFO (nobody writing) while the daemon runs; SIGHUP. The
// reload fails at once with a clear message, the running configuration stays, and the
// loop keeps polling and answering; a valid file afterwards reloads as usual.
TEST(ConfigFile, FifoAtSighupDoesNotBlockTheLoop) {
    TempDir dir;
    const std::string page = dir.file("vmclock0"), truth_file = dir.file("truth");
    const std::string config = dir.file("vmrefclockd.toml"), socket = dir.file("status.sock");
    auto sim = start_vmclock_sim(dir, page, truth_file, 0.00025, 3);
    // No chronyd: the samples go nowhere, which is beside the point here.
    const std::string text = "[source]\ntype = \"vmclock\"\npath = \"" + page +
                             "\"\ninterval = 0.1\n[chrony]\nsocket = \"" + dir.file("none.sock") +
                             "\"\ncontrol_socket = \"\"\n[status]\nsocket = \"" + socket +
                             "\"\n[log]\nlevel = \"info\"\n";
    write_file(config, text);
    Process daemon({bin_dir() + "/vmrefclockd", "-c", config}, dir.file("daemon.log"));
    auto polls = [&]() -> int64_t {
        nlohmann::json s = status_of(socket);
        return s.is_object() ? s["polls"].get<int64_t>() : -1;
    };
    ASSERT_TRUE(wait_until([&] { return polls() >= 3; }, 10s)) << daemon.log();

    ASSERT_EQ(unlink(config.c_str()), 0);
    ASSERT_EQ(mkfifo(config.c_str(), 0600), 0);
    const int64_t before = polls();
    const auto start = Clock::now();
    daemon.signal(SIGHUP);
    const std::string expected = "reload: keeping the running configuration: cannot read " +
                                 config + ": a FIFO, not a regular file";
    const bool refused =
        wait_until([&] { return daemon.log().find(expected) != std::string::npos; }, 5s, 5ms);
    const double took = seconds_since(start);
    // Still polling every 0.1 s and answering: 1 s later at least 5 more polls.
    std::this_thread::sleep_for(1s);
    const int64_t after = polls();
    std::printf("SIGHUP with a FIFO config: refused after %.4f s; polls %lld -> %lld in 1 s\n",
                took, static_cast<long long>(before), static_cast<long long>(after));
    ASSERT_TRUE(refused) << daemon.log();
    EXPECT_LT(took, 1.0);
    EXPECT_GE(after, before + 5) << daemon.log();
    ASSERT_TRUE(daemon.running()) << daemon.log();

    // A regular file again: the reload goes through.
    ASSERT_EQ(unlink(config.c_str()), 0);
    write_file(config, text);
    daemon.signal(SIGHUP);
    EXPECT_TRUE(wait_until(
        [&] { return daemon.log().find("reload: configuration re-read") != std::string::npos; },
        5s))
        << daemon.log();
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace
}  // namespace vmrefclock::test

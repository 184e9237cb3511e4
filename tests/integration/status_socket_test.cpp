// The status socket of a running vmrefclockd (fed by vmclock-sim, feeding a private
// chronyd -x), checked from outside: the status fields against the simulator's truth,
// a disruption seen through the socket, who may reset, hostile clients, the metrics
// through a real Prometheus parser, and vmrefclockctl on top.
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "ipc/status/status.h"
#include "tests/integration/harness.h"
#include "tests/support/prometheus_parser.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kChronyPoll = 2;

// Everything one test needs running: simulator, chronyd, daemon.
struct Chain {
    TempDir dir;
    std::string page = dir.file("vmclock0"), truth_file = dir.file("truth");
    std::string socket;
    std::unique_ptr<Process> sim = start_vmclock_sim(dir, page, truth_file, 0.00025, 3);
    Chrony chrony{dir, kChronyPoll};
    std::unique_ptr<Process> daemon;

    explicit Chain(std::string status_socket = "")
        : socket(status_socket.empty() ? dir.file("status.sock") : std::move(status_socket)) {
        write_file(dir.file("vmrefclockd.toml"),
                   vmclock_daemon_config(page, chrony, kChronyPoll, socket));
        daemon =
            std::make_unique<Process>(std::vector<std::string>{bin_dir() + "/vmrefclockd", "-c",
                                                               dir.file("vmrefclockd.toml")},
                                      dir.file("daemon.log"));
    }
    ~Chain() { daemon->stop(); }

    // Waits for state ok with a full estimator window; the last status, null on timeout.
    json wait_settled(std::chrono::seconds timeout = 20s) const {
        json last;
        wait_until(
            [&] {
                last = status_of(socket);
                return last.is_object() && last["state"] == "ok" &&
                       last["samples_in_window"].get<int>() >= 10;
            },
            timeout, 200ms);
        return last;
    }

    // true - system at the time of the status's last sample, in ns.
    double truth_at_last_sample(const json& status) const {
        auto truth = read_truth(truth_file);
        const double age_s = status["last_sample_age_s"].is_number()
                                 ? status["last_sample_age_s"].get<double>()
                                 : 0.0;
        return truth->at(realtime_ns() - static_cast<int64_t>(age_s * 1e9));
    }

    std::string ctl(const std::vector<std::string>& args, int* exit_code) const {
        std::vector<std::string> argv{bin_dir() + "/vmrefclockctl", "-s", socket};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, exit_code);
    }
};

TEST(StatusSocket, StatusMatchesTheTruthAndADisruptionPassesThroughHoldoff) {
    Chain chain;
    json s = chain.wait_settled();
    ASSERT_TRUE(s.is_object() && s["state"] == "ok") << s.dump(2) << chain.daemon->log();

    // Every field issue 5 names, with values that follow from the simulator's setup.
    EXPECT_FALSE(s["reason"].get<std::string>().empty());
    EXPECT_EQ(s["source"]["type"], "vmclock");
    EXPECT_EQ(s["source"]["path"], chain.page);
    EXPECT_FALSE(s["source"]["method"].get<std::string>().empty());
    const double truth_ns = chain.truth_at_last_sample(s);
    std::printf("status offset %+.0f ns, truth %+.0f ns, difference %+.0f ns, bound %.0f ns\n",
                s["offset_ns"].get<double>(), truth_ns, s["offset_ns"].get<double>() - truth_ns,
                s["error_bound_ns"].get<double>());
    EXPECT_NEAR(s["offset_ns"].get<double>(), truth_ns, 100);
    EXPECT_NEAR(s["frequency_ppm"].get<double>(), 3.0, 1.0);
    EXPECT_GE(s["stddev_ns"].get<double>(), 0.0);
    EXPECT_GT(s["error_bound_ns"].get<double>(), 0.0);
    EXPECT_GT(s["delay_ns"].get<int64_t>(), 0);
    EXPECT_GE(s["polls"].get<uint64_t>(), s["samples_sent"].get<uint64_t>());
    EXPECT_GT(s["samples_sent"].get<uint64_t>(), 0u);
    EXPECT_TRUE(s["samples_rejected"].is_number_unsigned());
    EXPECT_LT(s["last_sample_age_s"].get<double>(), 2.0);
    EXPECT_EQ(s["disruptions"]["count"], 0);
    EXPECT_TRUE(s["disruptions"]["last_time"].is_null());
    EXPECT_EQ(s["host"]["clock_status"], "synchronized");
    EXPECT_EQ(s["host"]["maintenance"], "none");
    EXPECT_EQ(s["host"]["leap"], "none");
    EXPECT_TRUE(s["host"].contains("time_maxerror_ns"));
    EXPECT_TRUE(s["host"]["disruption_marker"].is_number_unsigned());
    EXPECT_TRUE(s["host"].contains("vm_generation"));
    EXPECT_EQ(s["chrony"]["socket"], chain.chrony.sock_path());
    EXPECT_EQ(s["chrony"]["connected"], true);
    EXPECT_GT(s["uptime_s"].get<double>(), 0.0);
    EXPECT_FALSE(s["version"].get<std::string>().empty());

    // vmrefclockctl shows the same daemon: the state first, JSON, samples, metrics.
    int rc = -1;
    std::string text = chain.ctl({"status"}, &rc);
    EXPECT_EQ(rc, 0) << text;
    EXPECT_EQ(text.rfind("state:", 0), 0u) << text;
    EXPECT_NE(text.find("ok"), std::string::npos) << text;
    json as_json = json::parse(chain.ctl({"status", "--json"}, &rc), nullptr, false);
    EXPECT_EQ(rc, 0);
    ASSERT_TRUE(as_json.is_object());
    EXPECT_EQ(as_json["source"]["path"], chain.page);
    json samples = json::parse(chain.ctl({"samples", "-n", "5", "--json"}, &rc), nullptr, false);
    EXPECT_EQ(rc, 0);
    ASSERT_TRUE(samples.is_array()) << samples.dump();
    EXPECT_EQ(samples.size(), 5u);
    for (const json& sample : samples) {
        EXPECT_NEAR(sample["offset_ns"].get<double>(), truth_ns, 50'000) << sample.dump();
    }

    std::string metrics = chain.ctl({"metrics"}, &rc);
    // The truth now, before the Prometheus parser's python start-up (up to seconds on a
    // loaded machine; at 3 ppm each second is 3 us): the gauge is the last sample's offset,
    // at most one 0.5-s poll old.
    const double metrics_truth_ns = read_truth(chain.truth_file)->at(realtime_ns());
    EXPECT_EQ(rc, 0) << metrics;
    auto families = parse_with_prometheus_client(metrics);
    if (!families) {
        ADD_FAILURE() << "python3 with prometheus_client is missing (scripts/deps installs it)";
    } else {
        ASSERT_FALSE(families->is_null()) << "the Prometheus parser rejected:\n" << metrics;
        EXPECT_EQ((*families)["vmrefclock_polls"]["type"], "counter");
        EXPECT_EQ((*families)["vmrefclock_offset_seconds"]["type"], "gauge");
        EXPECT_NEAR(sample_value(*families, "vmrefclock_offset_seconds") * 1e9, metrics_truth_ns,
                    1'000);
        EXPECT_EQ(sample_value(*families, "vmrefclock_state", {{"state", "ok"}}), 1.0) << metrics;
    }

    // A migration-like disruption: the states the socket reports pass through holdoff.
    chain.sim->signal(SIGUSR1);
    const int64_t disrupted_ns = realtime_ns();
    std::vector<std::string> states;
    json last;
    bool back = wait_until(
        [&] {
            last = status_of(chain.socket);
            if (!last.is_object()) return false;
            std::string state = last["state"];
            if (states.empty() || states.back() != state) states.push_back(state);
            return last["disruptions"]["count"] == 1 && state == "ok" &&
                   std::find(states.begin(), states.end(), "holdoff") != states.end();
        },
        20s, 50ms);
    std::string seen;
    for (const auto& state : states) seen += state + " ";
    std::printf("states after the disruption: %s\n", seen.c_str());
    ASSERT_TRUE(back) << "states seen: " << seen << "\n" << last.dump(2);
    EXPECT_EQ(states.front(), "ok");
    EXPECT_EQ(last["disruptions"]["last_cause"], "marker");
    auto last_time = parse_utc(last["disruptions"]["last_time"].get<std::string>());
    ASSERT_TRUE(last_time);
    EXPECT_NEAR(static_cast<double>(*last_time - disrupted_ns) / 1e9, 0.0, 3.0);

    // And the estimate follows the stepped truth.
    json after;
    double difference_ns = NAN;
    bool followed = wait_until(
        [&] {
            after = chain.wait_settled(5s);
            if (!after.is_object() || !after["offset_ns"].is_number()) return false;
            difference_ns = after["offset_ns"].get<double>() - chain.truth_at_last_sample(after);
            return std::fabs(difference_ns) < 5'000;
        },
        15s, 200ms);
    std::printf("after the 2 ms step: status offset - truth = %+.0f ns\n", difference_ns);
    EXPECT_TRUE(followed) << after.dump(2);
}

// The reply a process running as nobody:nogroup gets to `request` on `socket`.
json ask_as_nobody(const std::string& socket, const json& request) {
    int fds[2];
    if (pipe(fds) != 0) return {{"transport", "pipe"}};
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        std::string reply = "{\"transport\":\"cannot drop privileges\"}";
        if (setgroups(0, nullptr) == 0 && setgid(65534) == 0 && setuid(65534) == 0) {
            reply = ask_status_socket(socket, request).dump();
        }
        ssize_t written = write(fds[1], reply.data(), reply.size());
        _exit(written == static_cast<ssize_t>(reply.size()) ? 0 : 1);
    }
    close(fds[1]);
    std::string reply;
    char buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) reply.append(buf, size_t(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return json::parse(reply, nullptr, false);
}

TEST(StatusSocket, OnlyRootAndTheGroupMayReset) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another user";
    // The socket in a directory others may enter, opened to everyone (0666) the way a
    // careless admin might: then only SO_PEERCRED stands between nobody and a reset.
    TempDir open_dir("vmr-status");
    chmod(open_dir.path().c_str(), 0755);
    Chain chain(open_dir.file("status.sock"));
    ASSERT_TRUE(wait_until([&] { return status_of(chain.socket).is_object(); }, 10s))
        << chain.daemon->log();
    ASSERT_EQ(chmod(chain.socket.c_str(), 0666), 0);

    json read_only = ask_as_nobody(chain.socket, {{"cmd", "status"}});
    EXPECT_EQ(read_only["ok"], true) << read_only.dump();
    json refused = ask_as_nobody(chain.socket, {{"cmd", "reset"}});
    EXPECT_EQ(refused["ok"], false) << refused.dump();
    EXPECT_EQ(refused["error"], "permission denied") << refused.dump();
    EXPECT_EQ(status_of(chain.socket)["disruptions"]["count"], 0);

    int rc = -1;
    std::string out = chain.ctl({"reset", "--reason", "integration test"}, &rc);
    EXPECT_EQ(rc, 0) << out;
    json s = status_of(chain.socket);
    EXPECT_EQ(s["disruptions"]["count"], 1) << s.dump(2);
    EXPECT_EQ(s["disruptions"]["last_cause"], "manual") << s.dump(2);
    EXPECT_NE(chain.daemon->log().find("integration test"), std::string::npos)
        << chain.daemon->log();
}

// Connects, writes `bytes` raw, half-closes, and returns what the daemon said (up to EOF
// or 2 s); `close_early` closes without reading, as a client that gives up mid-request.
// A raw stream connection to the status socket, -1 on failure.
int connect_raw(const std::string& socket) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socket.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

std::string raw_exchange(const std::string& socket, const std::string& bytes, bool close_early) {
    int fd = connect_raw(socket);
    if (fd < 0) return "<connect failed>";
    timeval timeout{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ssize_t written = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::string reply;
    if (!close_early && written >= 0) {
        shutdown(fd, SHUT_WR);
        char buf[4096];
        for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) reply.append(buf, size_t(n));
    }
    close(fd);
    return reply;
}

TEST(StatusSocket, GarbageLeavesItSamplingAndAnswering) {
    Chain chain;
    json before = chain.wait_settled();
    ASSERT_EQ(before["state"], "ok") << before.dump(2) << chain.daemon->log();

    const std::string oversized = std::string(64 * 1024, 'x') + "\n";
    const std::vector<std::pair<std::string, std::string>> hostile = {
        {"{\n", "malformed JSON"},
        {"[1,2,3]\n", "request must be a JSON object"},
        {"{}\n", "request needs a \"cmd\" string"},
        {"{\"cmd\":42}\n", "request needs a \"cmd\" string"},
        {"{\"cmd\":\"format-disk\"}\n", "unknown cmd"},
        {"{\"cmd\":\"samples\",\"n\":-1}\n", "\"n\" must be an integer"},
        {"{\"cmd\":\"samples\",\"n\":\"all\"}\n", "\"n\" must be an integer"},
        {"{\"cmd\":\"reset\",\"reason\":7}\n", "\"reason\" must be a string"},
        {std::string("\x00\xff\xfe\x01garbage\n", 12), "malformed JSON"},
        {"\xc3\x28{\"cmd\":\"status\"}\n", "malformed JSON"},
        {oversized, "request too long"},
    };
    int answered = 0, half_written = 0;
    for (int i = 0; i < 200; ++i) {
        if (i % 4 == 3) {
            // Half-written: a request cut off mid-JSON, the client gone.
            raw_exchange(chain.socket, "{\"cmd\":\"sta", /*close_early=*/true);
            ++half_written;
            continue;
        }
        const auto& [bytes, expected] = hostile[static_cast<size_t>(i) % hostile.size()];
        std::string reply = raw_exchange(chain.socket, bytes, /*close_early=*/false);
        json response = json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
        ASSERT_TRUE(response.is_object()) << "request #" << i << " got: " << reply;
        EXPECT_EQ(response["ok"], false) << "request #" << i;
        EXPECT_NE(response.value("error", "").find(expected), std::string::npos)
            << "request #" << i << ": " << response.dump();
        ++answered;
    }
    // Idle clients beyond the limit are turned away, not queued forever.
    std::vector<int> idle;
    for (int i = 0; i < 20; ++i) {
        int fd = connect_raw(chain.socket);
        if (fd >= 0) send(fd, "{\"cmd\":", 7, MSG_NOSIGNAL);
        idle.push_back(fd);
    }
    std::this_thread::sleep_for(300ms);
    int turned_away = 0;
    for (int fd : idle) {
        char buf[256];
        ssize_t n = fd >= 0 ? recv(fd, buf, sizeof buf, MSG_DONTWAIT) : -1;
        if (n > 0 && std::string(buf, size_t(n)).find("too many clients") != std::string::npos) {
            ++turned_away;
        }
        if (fd >= 0) close(fd);
    }
    // The server holds 16 clients at most: at least 4 of the 20 were told so.
    EXPECT_GE(turned_away, 4);

    // Still sampling and answering: more polls, more samples sent, state ok.
    json after;
    wait_until(
        [&] {
            after = status_of(chain.socket);
            return after.is_object() && after["state"] == "ok" &&
                   after["polls"].get<uint64_t>() > before["polls"].get<uint64_t>() &&
                   after["samples_sent"].get<uint64_t>() > before["samples_sent"].get<uint64_t>();
        },
        5s);
    std::printf(
        "%d hostile requests answered with errors, %d half-written, %d of 20 idle clients "
        "turned away; polls %d -> %d\n",
        answered, half_written, turned_away, before["polls"].get<int>(),
        after.is_object() ? after["polls"].get<int>() : -1);
    ASSERT_TRUE(after.is_object()) << chain.daemon->log();
    EXPECT_EQ(after["state"], "ok");
    EXPECT_GT(after["polls"].get<uint64_t>(), before["polls"].get<uint64_t>());
    EXPECT_GT(after["samples_sent"].get<uint64_t>(), before["samples_sent"].get<uint64_t>());
    EXPECT_EQ(after["disruptions"]["count"], 0);
    EXPECT_TRUE(chain.daemon->running());
}

}  // namespace
}  // namespace vmrefclock::test

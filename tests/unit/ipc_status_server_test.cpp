// StatusServer on a real EventLoop (on its own thread) with real client sockets.
#include <grp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "ipc/sys/event_loop.h"
#include "ipc/status/status_client.h"
#include "ipc/status/status_server.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Runs a loop with a server on a thread; stops it through an eventfd (the loop is
// not thread-safe, so the test thread never touches it while it runs).
class ServerFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        chmod(dir_.c_str(), 0755);  // lets the unprivileged child reach the socket
        options_.socket_path = dir_ + "/status.sock";
        callbacks_.snapshot = [this] {
            ++snapshots_;
            StatusSnapshot s;
            s.state = DaemonState::ok;
            s.reason = "fine";
            s.version = "test";
            return s;
        };
        callbacks_.samples = [](size_t n) {
            std::vector<SampleRecord> out;
            for (size_t i = 0; i < n; ++i) out.push_back({int64_t(i), 1.5, 2, 3, true});
            return out;
        };
        callbacks_.reset = [this](const std::string& reason) -> Status {
            ++resets_;
            last_reason_ = reason;
            return Ok{};
        };
        callbacks_.sources = [] { return std::string("vmclock /dev/vmclock0: ok"); };
    }

    void TearDown() override { stop(); }

    void start() {
        auto created = StatusServer::create(loop_, options_, callbacks_);
        ASSERT_TRUE(created) << created.error().message;
        server_ = std::move(*created);
        wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ASSERT_TRUE(loop_.add(wake_fd_, EPOLLIN, [this](uint32_t) { loop_.stop(); }));
        thread_ = std::thread([this] { loop_.run(); });
    }

    void stop() {
        if (!thread_.joinable()) return;
        uint64_t one = 1;
        ASSERT_EQ(write(wake_fd_, &one, sizeof one), ssize_t(sizeof one));
        thread_.join();
        loop_.remove(wake_fd_);
        close(wake_fd_);
        server_.reset();
    }

    StatusClient connect() {
        auto c = StatusClient::connect(options_.socket_path);
        EXPECT_TRUE(c) << c.error().message;
        return std::move(*c);
    }

    static json ask(StatusClient& c, const json& request) {
        auto r = c.request(request);
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : json();
    }

    static bool closed_by_server(StatusClient& c, int64_t timeout_ns = 3'000'000'000) {
        for (;;) {
            auto line = c.read_line(timeout_ns);
            if (!line) return line.error().code == EPIPE || line.error().code == ECONNRESET;
        }
    }

    test::TempDir tmp_{"vmr_status"};
    std::string dir_ = tmp_.path();
    StatusServerOptions options_;
    StatusCallbacks callbacks_;
    EventLoop loop_;
    std::unique_ptr<StatusServer> server_;
    int wake_fd_ = -1;
    std::thread thread_;
    std::atomic<int> snapshots_{0};
    std::atomic<int> resets_{0};
    std::string last_reason_;
};

TEST_F(ServerFixture, CommandsRoundTrip) {
    start();
    StatusClient c = connect();
    json status = ask(c, {{"cmd", "status"}});
    EXPECT_EQ(status["ok"], true);
    EXPECT_EQ(status["status"]["state"], "ok");
    EXPECT_EQ(status["status"].get<StatusSnapshot>().reason, "fine");

    json samples = ask(c, {{"cmd", "samples"}, {"n", 3}});
    ASSERT_EQ(samples["samples"].size(), 3u);
    EXPECT_EQ(samples["samples"][2].get<SampleRecord>().time_ns, 2);

    json metrics = ask(c, {{"cmd", "metrics"}});
    EXPECT_NE(metrics["metrics"].get<std::string>().find("vmrefclock_build_info"),
              std::string::npos);

    EXPECT_EQ(ask(c, {{"cmd", "sources"}})["sources"], "vmclock /dev/vmclock0: ok");

    json reset = ask(c, {{"cmd", "reset"}, {"reason", "operator says so"}});
    EXPECT_EQ(reset, json({{"ok", true}}));
    stop();
    EXPECT_EQ(resets_, 1);
    EXPECT_EQ(last_reason_, "operator says so");
}

TEST_F(ServerFixture, SocketIsPrivateAndCleanedUp) {
    // A stale socket file from a crash is replaced.
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, options_.socket_path.c_str());
    ASSERT_EQ(bind(stale, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    close(stale);
    start();
    struct stat st {};
    ASSERT_EQ(stat(options_.socket_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0660u);
    // A second server for the same socket is refused by the lock beside it, naming us.
    EventLoop other;
    auto second = StatusServer::create(other, options_, callbacks_);
    ASSERT_FALSE(second);
    EXPECT_NE(
        second.error().message.find("another vmrefclockd (PID " + std::to_string(getpid()) + ")"),
        std::string::npos)
        << second.error().message;
    stop();
    EXPECT_FALSE(std::filesystem::exists(options_.socket_path));
}

TEST_F(ServerFixture, LiveSocketOfAnotherProgramIsNeverTakenOver) {
    int live = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, options_.socket_path.c_str());
    ASSERT_EQ(bind(live, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(live, 1), 0);
    auto server = StatusServer::create(loop_, options_, callbacks_);
    ASSERT_FALSE(server);
    EXPECT_NE(server.error().message.find("listening"), std::string::npos);
    close(live);
}

// The socket's directory is created when missing: 0750, the status group.
TEST_F(ServerFixture, MissingDirectoryIsCreated) {
    group* daemon_group = getgrnam("daemon");
    if (!daemon_group) GTEST_SKIP() << "no group \"daemon\"";
    options_.group = "daemon";
    options_.socket_path = dir_ + "/run/vmrefclock/status.sock";
    start();
    struct stat st {};
    ASSERT_EQ(stat((dir_ + "/run/vmrefclock").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    EXPECT_EQ(st.st_gid, daemon_group->gr_gid);
    StatusClient c = connect();
    EXPECT_EQ(ask(c, {{"cmd", "status"}})["ok"], true);
}

// Deleted: the socket, then its whole directory. Each time the server puts it back and
// answers again within 2 s.
TEST_F(ServerFixture, DeletedSocketAndDirectoryAreRecreated) {
    options_.socket_path = dir_ + "/run/status.sock";
    start();
    auto answers_within = [&](std::chrono::milliseconds limit) {
        const auto t0 = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - t0 < limit) {
            auto c = StatusClient::connect(options_.socket_path, 100'000'000);
            if (c) {
                auto r = c->request({{"cmd", "status"}});
                if (r && (*r)["ok"] == true) {
                    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                        .count();
                }
            }
            std::this_thread::sleep_for(10ms);
        }
        return -1.0;
    };
    ASSERT_EQ(unlink(options_.socket_path.c_str()), 0);
    const double after_unlink = answers_within(2s);
    EXPECT_GE(after_unlink, 0) << "socket not re-created";
    // The whole directory goes at once (a rename, as `rm -rf` racing the server would
    // not be).
    std::filesystem::rename(dir_ + "/run", dir_ + "/gone");
    const double after_rmdir = answers_within(2s);
    EXPECT_GE(after_rmdir, 0) << "directory not re-created";
    // The lock came back with the directory: a second server is still refused.
    EventLoop other;
    EXPECT_FALSE(StatusServer::create(other, options_, callbacks_));
    std::printf(
        "answering again %.3f s after the socket was deleted, %.3f s after its "
        "directory was\n",
        after_unlink, after_rmdir);
}

TEST_F(ServerFixture, NotRunningErrorIsClear) {
    auto c = StatusClient::connect(options_.socket_path);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().message,
              "vmrefclockd is not running (no socket at " + options_.socket_path + ")");
}

TEST_F(ServerFixture, GarbageGetsErrorsAndServerKeepsAnswering) {
    start();
    StatusClient c = connect();
    std::mt19937 rng(5);
    const std::vector<std::string> shapes = {"{",
                                             "}",
                                             "[]",
                                             "null",
                                             "42",
                                             "\"status\"",
                                             "{\"cmd\":5}",
                                             "{\"cmd\":null}",
                                             "{\"cmd\":\"STATUS\"}",
                                             "{\"cmd\":\"samples\",\"n\":\"ten\"}",
                                             "{\"cmd\":\"samples\",\"n\":-1}",
                                             "{\"cmd\":\"samples\",\"n\":1.5}",
                                             "{\"cmd\":\"reset\",\"reason\":7}",
                                             "{\"cmd\":\"status\"",
                                             "\xff\xfe{}",
                                             "{\"cmd\":[]}"};
    for (int i = 0; i < 200; ++i) {
        std::string line = shapes[i % shapes.size()];
        if (i >= static_cast<int>(shapes.size())) {
            for (int k = 0; k < 40; ++k) {
                char ch = static_cast<char>(rng() % 256);
                line += (ch == '\n') ? ' ' : ch;
            }
        }
        ASSERT_TRUE(c.send_line(line));
        auto response = c.read_line();
        ASSERT_TRUE(response) << i << ": " << response.error().message;
        json j = json::parse(*response);
        EXPECT_EQ(j["ok"], false) << i << ": " << line;
        EXPECT_TRUE(j["error"].is_string());
    }
    EXPECT_EQ(ask(c, {{"cmd", "status"}})["ok"], true);
}

// Found by the status fuzz target: an unknown cmd is quoted cut at 64 bytes, and a cut
// inside a UTF-8 character made the answer "internal error: ... invalid UTF-8".
TEST_F(ServerFixture, UnknownCmdCutInsideAUtf8CharacterIsStillNamed) {
    start();
    StatusClient c = connect();
    const json answer = ask(c, {{"cmd", std::string(63, 'a') + "\xc3\xa9"}});
    EXPECT_EQ(answer["ok"], false);
    // Quoted, cut on a character boundary (never inside the two-byte "é"), still naming
    // the cmd: valid UTF-8, so no replacement character either.
    const std::string error = answer["error"].get<std::string>();
    EXPECT_EQ(error.rfind("unknown cmd \"" + std::string(40, 'a'), 0), 0u) << answer.dump();
    EXPECT_EQ(error.find("\xef\xbf\xbd"), std::string::npos) << answer.dump();
    EXPECT_EQ(error.find("\xc3\""), std::string::npos) << answer.dump();
}

TEST_F(ServerFixture, OversizedRequestIsRefusedAndClosed) {
    start();
    StatusClient big = connect();
    ASSERT_TRUE(big.send_line(std::string(5000, 'x')));
    auto response = big.read_line();
    ASSERT_TRUE(response);
    EXPECT_NE(response->find("too long"), std::string::npos);
    EXPECT_TRUE(closed_by_server(big));
    // Without a newline at all, too.
    StatusClient endless = connect();
    std::string chunk(1000, '{');
    for (int i = 0; i < 6; ++i) {
        ::send(endless.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    }
    EXPECT_TRUE(closed_by_server(endless));
    StatusClient c = connect();
    EXPECT_EQ(ask(c, {{"cmd", "status"}})["ok"], true);
}

TEST_F(ServerFixture, HalfWrittenRequestsDoNotBlockOthers) {
    start();
    StatusClient half = connect();
    std::string part = "{\"cmd\":\"sta";
    ASSERT_EQ(::send(half.fd(), part.data(), part.size(), MSG_NOSIGNAL), ssize_t(part.size()));
    StatusClient gone = connect();
    ASSERT_EQ(::send(gone.fd(), part.data(), part.size(), MSG_NOSIGNAL), ssize_t(part.size()));
    { StatusClient dropped = std::move(gone); }  // closes mid-request
    StatusClient other = connect();
    EXPECT_EQ(ask(other, {{"cmd", "status"}})["ok"], true);
    ASSERT_TRUE(half.send_line("tus\"}"));
    auto response = half.read_line();
    ASSERT_TRUE(response);
    EXPECT_EQ(json::parse(*response)["status"]["state"], "ok");
}

// Root (the test) is privileged: when every slot is taken it gets in anyway, and the
// longest-idle client is the one that makes room, told why.
TEST_F(ServerFixture, FullServerStillAnswersAPrivilegedPeer) {
    options_.max_clients = 4;
    start();
    std::vector<StatusClient> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(connect());
        EXPECT_EQ(ask(clients.back(), {{"cmd", "status"}})["ok"], true);
        std::this_thread::sleep_for(20ms);
    }
    // The three newest stay busy; clients[0] is the longest idle.
    for (size_t i = 1; i < clients.size(); ++i) ask(clients[i], {{"cmd", "status"}});
    StatusClient root = connect();
    EXPECT_EQ(ask(root, {{"cmd", "reset"}})["ok"], true);
    auto evicted = clients[0].read_line();
    ASSERT_TRUE(evicted) << evicted.error().message;
    EXPECT_NE(json::parse(*evicted)["error"].get<std::string>().find("too many clients"),
              std::string::npos)
        << *evicted;
    EXPECT_TRUE(closed_by_server(clients[0]));
    for (size_t i = 1; i < clients.size(); ++i) {
        EXPECT_EQ(ask(clients[i], {{"cmd", "status"}})["ok"], true) << i;
    }
}

// 16 clients trickling one byte at a time hold every slot: each request gets 1 s, and
// root's reset still goes through.
TEST_F(ServerFixture, SlowClientsDoNotLockOutRoot) {
    start();
    std::atomic<bool> done{false};
    std::atomic<int> turned_away{0}, timed_out{0};
    std::thread attacker([&] {
        std::vector<std::optional<StatusClient>> slow(16);
        while (!done) {
            for (auto& c : slow) {
                if (!c) {
                    auto fresh = StatusClient::connect(options_.socket_path, 100'000'000);
                    if (fresh) c.emplace(std::move(*fresh));
                    continue;
                }
                char buf[512];
                const ssize_t n = recv(c->fd(), buf, sizeof buf, MSG_DONTWAIT);
                if (n > 0) {
                    const std::string got(buf, static_cast<size_t>(n));
                    if (got.find("too many clients") != std::string::npos) ++turned_away;
                    if (got.find("not completed") != std::string::npos) ++timed_out;
                    c.reset();
                    continue;
                }
                if (n == 0 || ::send(c->fd(), "{", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
                    c.reset();
                }
            }
            std::this_thread::sleep_for(100ms);
        }
    });
    std::this_thread::sleep_for(1500ms);  // every slot held
    std::vector<double> latencies;
    for (int i = 0; i < 5; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        StatusClient root = connect();
        auto r = root.request({{"cmd", "reset"}, {"reason", "under load"}});
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ((*r)["ok"], true) << r->dump();
        latencies.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        std::this_thread::sleep_for(300ms);
    }
    done = true;
    attacker.join();
    EXPECT_GT(timed_out + turned_away, 0);
    std::printf(
        "root reset under 16 slow clients: %.1f/%.1f ms (best/worst of 5); slow "
        "clients timed out %d times, turned away %d times\n",
        *std::min_element(latencies.begin(), latencies.end()) * 1e3,
        *std::max_element(latencies.begin(), latencies.end()) * 1e3, timed_out.load(),
        turned_away.load());
}

TEST_F(ServerFixture, PartialRequestGetsOneSecond) {
    start();
    StatusClient slow = connect();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::send(slow.fd(), "{\"cmd\"", 6, MSG_NOSIGNAL), 6);
    std::this_thread::sleep_for(500ms);
    ASSERT_EQ(::send(slow.fd(), ":", 1, MSG_NOSIGNAL), 1);  // activity does not extend it
    auto line = slow.read_line(3'000'000'000);
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(line) << line.error().message;
    EXPECT_EQ(json::parse(*line)["error"],
              "request not completed within 1000 ms of its first byte");
    EXPECT_TRUE(closed_by_server(slow));
    EXPECT_GE(waited, 0.95);
    EXPECT_LT(waited, 1.5);  // the deadline is 1 s; the rest is a loaded machine's scheduling
    std::printf("partial request answered and closed after %.3f s\n", waited);
}

TEST_F(ServerFixture, IdleClientsAreClosed) {
    options_.idle_timeout_ns = 200'000'000;
    start();
    StatusClient idle = connect();
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(closed_by_server(idle));
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, 150ms);
    EXPECT_LT(waited, 2s);
    StatusClient c = connect();
    EXPECT_EQ(ask(c, {{"cmd", "status"}})["ok"], true);
}

TEST_F(ServerFixture, SlowReaderDoesNotStallOthers) {
    options_.max_pending_output_bytes = 16 * 1024;
    start();
    StatusClient slow = connect();
    constexpr int kRequests = 3000;  // ~100 bytes each response: far beyond the bound
    std::thread writer([&] {
        for (int i = 0; i < kRequests; ++i) {
            ASSERT_TRUE(slow.send_line("{\"cmd\":\"samples\",\"n\":1}", 20'000'000'000));
        }
    });
    std::this_thread::sleep_for(200ms);
    StatusClient other = connect();
    EXPECT_EQ(ask(other, {{"cmd", "status"}})["ok"], true);
    int answered = 0;
    for (; answered < kRequests; ++answered) {
        auto line = slow.read_line();
        ASSERT_TRUE(line) << answered << ": " << line.error().message;
        ASSERT_EQ(json::parse(*line)["ok"], true);
    }
    writer.join();
    EXPECT_EQ(answered, kRequests);
}

// Forks before the loop thread exists; the child drops to `nobody` with the given
// groups, connects and asks for a reset, and writes the response line to result_fd.
[[noreturn]] void reset_as_nobody(const std::string& socket_path, std::vector<gid_t> groups,
                                  int go_fd, int result_fd) {
    char go;
    if (read(go_fd, &go, 1) != 1) _exit(10);
    if (setgroups(groups.size(), groups.data()) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
        _exit(11);
    }
    auto c = StatusClient::connect(socket_path);
    if (!c) _exit(12);
    auto status = c->request({{"cmd", "status"}});
    if (!status || (*status)["ok"] != true) _exit(13);
    auto r = c->request({{"cmd", "reset"}});
    std::string out = r ? r->dump() : "error: " + r.error().message;
    if (write(result_fd, out.data(), out.size()) < 0) _exit(14);
    _exit(0);
}

class ResetPermission : public ServerFixture {
  protected:
    std::string run_child(std::vector<gid_t> groups) {
        if (geteuid() != 0) return "skip";
        int go[2], result[2];
        EXPECT_EQ(pipe(go), 0);
        EXPECT_EQ(pipe(result), 0);
        pid_t pid = fork();
        if (pid == 0) reset_as_nobody(options_.socket_path, groups, go[0], result[1]);
        close(go[0]);
        close(result[1]);
        start();
        // The socket is 0660 root:<group>; open it up so `nobody` can reach the server.
        chmod(options_.socket_path.c_str(), 0666);
        EXPECT_EQ(write(go[1], "g", 1), 1);
        int wstatus = 0;
        waitpid(pid, &wstatus, 0);
        char buf[512];
        ssize_t n = read(result[0], buf, sizeof buf);
        close(go[1]);
        close(result[0]);
        EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << wstatus;
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    }
};

TEST_F(ResetPermission, NonRootPeerIsRefused) {
    std::string response = run_child({});
    if (response == "skip") GTEST_SKIP() << "needs root to setuid()";
    EXPECT_EQ(json::parse(response), json({{"ok", false}, {"error", "permission denied"}}));
    stop();
    EXPECT_EQ(resets_, 0);
}

TEST_F(ResetPermission, MemberOfConfiguredGroupMayReset) {
    group* daemon_group = getgrnam("daemon");
    if (!daemon_group) GTEST_SKIP() << "no group \"daemon\"";
    options_.group = "daemon";
    // A supplementary group, seen through SO_PEERGROUPS.
    std::string response = run_child({daemon_group->gr_gid});
    if (response == "skip") GTEST_SKIP() << "needs root to setuid()";
    EXPECT_EQ(json::parse(response), json({{"ok", true}}));
    stop();
    EXPECT_EQ(resets_, 1);
}

// An unprivileged peer finding every slot taken is turned away with words, through the
// client vmrefclockctl uses: never "Broken pipe".
TEST_F(ResetPermission, UnprivilegedPeerTurnedAwayReadsTooManyClients) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to setuid()";
    options_.max_clients = 2;
    int go[2], result[2];
    ASSERT_EQ(pipe(go), 0);
    ASSERT_EQ(pipe(result), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char g;
        if (read(go[0], &g, 1) != 1 || setgroups(0, nullptr) != 0 || setgid(65534) != 0 ||
            setuid(65534) != 0) {
            _exit(11);
        }
        std::string out;
        for (int i = 0; i < 20; ++i) {
            auto c = StatusClient::connect(options_.socket_path);
            if (!c) {
                out += "connect: " + c.error().message + "\n";
                continue;
            }
            auto r = c->request({{"cmd", "status"}});
            out += (r ? r->dump() : "error: " + r.error().message) + "\n";
        }
        if (write(result[1], out.data(), out.size()) < 0) _exit(14);
        _exit(0);
    }
    close(go[0]);
    close(result[1]);
    start();
    chmod(options_.socket_path.c_str(), 0666);
    StatusClient a = connect(), b = connect();
    EXPECT_EQ(ask(a, {{"cmd", "status"}})["ok"], true);
    EXPECT_EQ(ask(b, {{"cmd", "status"}})["ok"], true);
    ASSERT_EQ(write(go[1], "g", 1), 1);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    std::string out(8192, '\0');
    ssize_t n = read(result[0], out.data(), out.size());
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    close(go[1]);
    close(result[0]);
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << wstatus;
    std::istringstream lines(out);
    int count = 0;
    for (std::string line; std::getline(lines, line); ++count) {
        EXPECT_EQ(line, R"({"error":"too many clients","ok":false})") << count;
    }
    EXPECT_EQ(count, 20);
}

TEST_F(ResetPermission, UnknownGroupIsAStartupError) {
    options_.group = "no-such-group-vmr";
    auto created = StatusServer::create(loop_, options_, callbacks_);
    ASSERT_FALSE(created);
    EXPECT_NE(created.error().message.find("no-such-group-vmr"), std::string::npos);
}

}  // namespace
}  // namespace vmrefclock

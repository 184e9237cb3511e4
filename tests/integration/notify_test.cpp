// vmrefclockd under a fake systemd: a datagram socket as NOTIFY_SOCKET records what the
// daemon tells its service manager, in order, through start, a bad reload and stop.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "tests/integration/harness.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;

// Listens where NOTIFY_SOCKET points and keeps every assignment, in arrival order.
class FakeNotifySocket {
  public:
    explicit FakeNotifySocket(std::string path) : path_(std::move(path)) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("bind " + path_);
        }
    }
    ~FakeNotifySocket() { close(fd_); }
    const std::string& path() const { return path_; }

    // Drains the socket; returns all messages so far, one per line of a datagram.
    const std::vector<std::string>& messages() {
        char buf[4096];
        for (ssize_t n; (n = recv(fd_, buf, sizeof buf, 0)) > 0;) {
            std::string datagram(buf, static_cast<size_t>(n));
            size_t start = 0;
            while (start < datagram.size()) {
                size_t nl = datagram.find('\n', start);
                if (nl == std::string::npos) nl = datagram.size();
                if (nl > start) {
                    messages_.push_back(datagram.substr(start, nl - start));
                    arrivals_.push_back(std::chrono::steady_clock::now());
                }
                start = nl + 1;
            }
        }
        return messages_;
    }

    // Index of the first message at or after `from` starting with `prefix`, or -1.
    int find(const std::string& prefix, int from = 0) {
        const auto& m = messages();
        for (size_t i = static_cast<size_t>(std::max(from, 0)); i < m.size(); ++i) {
            if (m[i].rfind(prefix, 0) == 0) return static_cast<int>(i);
        }
        return -1;
    }
    int count(const std::string& prefix, int from = 0) {
        const auto& m = messages();
        return static_cast<int>(
            std::count_if(m.begin() + std::min<size_t>(static_cast<size_t>(from), m.size()),
                          m.end(), [&](const std::string& s) { return s.rfind(prefix, 0) == 0; }));
    }
    std::string dump() {
        std::string out;
        for (const auto& m : messages()) out += m + "\n";
        return out;
    }

  private:
    std::string path_;
    int fd_ = -1;
    std::vector<std::string> messages_;
    std::vector<std::chrono::steady_clock::time_point> arrivals_;

  public:
    // Longest gap between consecutive WATCHDOG=1 from message `from` on, drained every
    // 20 ms for `span`: systemd kills the service when a gap reaches WatchdogSec.
    std::chrono::milliseconds longest_watchdog_gap(int from, std::chrono::milliseconds span) {
        auto end = std::chrono::steady_clock::now() + span;
        while (std::chrono::steady_clock::now() < end) {
            messages();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        std::chrono::milliseconds longest{0};
        std::optional<std::chrono::steady_clock::time_point> last;
        for (size_t i = static_cast<size_t>(from); i < messages_.size(); ++i) {
            if (messages_[i] != "WATCHDOG=1") continue;
            if (last) {
                longest = std::max(longest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                arrivals_[i] - *last));
            }
            last = arrivals_[i];
        }
        return longest;
    }
};

TEST(Notify, ReadyStatusWatchdogReloadAndStoppingInOrder) {
    TempDir dir;
    const std::string page = dir.file("vmclock0"), truth_file = dir.file("truth");
    auto sim = start_vmclock_sim(dir, page, truth_file, 0.00025, 3);
    Chrony chrony(dir, 2);
    const std::string config_path = dir.file("vmrefclockd.toml");
    const std::string good_config = vmclock_daemon_config(page, chrony, 2, dir.file("status.sock"));
    write_file(config_path, good_config);
    FakeNotifySocket notify(dir.file("notify.sock"));
    // As systemd sets them for WatchdogSec=2: the daemon pings at least every 0.5 s.
    Process daemon({bin_dir() + "/vmrefclockd", "-c", config_path}, dir.file("daemon.log"),
                   {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=2000000"});

    // Start: READY=1 once the first sample went out, a STATUS= with the state and the
    // offset, and watchdog pings that keep coming while polls complete.
    ASSERT_TRUE(wait_until([&] { return notify.find("STATUS=ok, offset") >= 0; }, 10s))
        << notify.dump() << daemon.log();
    const int ready = notify.find("READY=1");
    ASSERT_GE(ready, 0) << notify.dump();
    EXPECT_EQ(notify.count("READY=1"), 1) << notify.dump();
    EXPECT_EQ(notify.find("STATUS=starting"), 0) << notify.dump();
    EXPECT_GT(notify.find("STATUS=ok, offset"), 0) << notify.dump();
    const auto longest_gap = notify.longest_watchdog_gap(ready, 3s);
    const int pings_after_ready = notify.count("WATCHDOG=1", ready);
    EXPECT_GE(pings_after_ready, 4) << notify.dump();
    EXPECT_LT(longest_gap, 1000ms) << notify.dump();

    // SIGHUP with a broken config: RELOADING=1, then READY=1, still on the old config.
    write_file(config_path, good_config + "[source]\nbogus = 1\n");
    const int before_reload = static_cast<int>(notify.messages().size());
    daemon.signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return notify.find("READY=1", before_reload) >= 0; }, 5s))
        << notify.dump() << daemon.log();
    const int reloading = notify.find("RELOADING=1", before_reload);
    ASSERT_GE(reloading, 0) << notify.dump();
    EXPECT_GE(notify.find("MONOTONIC_USEC=", reloading), reloading + 1) << notify.dump();
    EXPECT_GT(notify.find("READY=1", before_reload), reloading);
    EXPECT_NE(daemon.log().find("reload: keeping the running configuration"), std::string::npos)
        << daemon.log();
    // Still sampling on the old config: pings and ok status keep coming.
    const int after_reload = static_cast<int>(notify.messages().size());
    wait_until([&] { return notify.count("WATCHDOG=1", after_reload) >= 2; }, 3s);
    EXPECT_GE(notify.count("WATCHDOG=1", after_reload), 2) << notify.dump();
    EXPECT_TRUE(daemon.running()) << daemon.log();

    // SIGHUP with a good config: the same RELOADING=1 then READY=1 pair.
    write_file(config_path, good_config);
    const int before_good = static_cast<int>(notify.messages().size());
    daemon.signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return notify.find("READY=1", before_good) >= 0; }, 5s))
        << notify.dump() << daemon.log();
    EXPECT_LT(notify.find("RELOADING=1", before_good), notify.find("READY=1", before_good));

    // SIGTERM: STOPPING=1 is the last word, and a clean exit.
    const int before_stop = static_cast<int>(notify.messages().size());
    const int status = daemon.stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon.log();
    const int stopping = notify.find("STOPPING=1", before_stop);
    ASSERT_GE(stopping, 0) << notify.dump();
    EXPECT_EQ(notify.count("WATCHDOG=1", stopping), 0) << notify.dump();
    std::printf(
        "%zu notify messages; READY at #%d, %d watchdog pings in the 3 s after it, longest gap "
        "%lld ms (WatchdogSec 2 s)\n",
        notify.messages().size(), ready, pings_after_ready,
        static_cast<long long>(longest_gap.count()));
}

}  // namespace
}  // namespace vmrefclock::test

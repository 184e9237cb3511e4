// Against a real chronyd (Debian's 4.3), private to the test: its own config, sockets
// and pid file in a 0700 temp dir, -x so the system clock is never touched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ipc/chrony_control.h"
#include "ipc/chrony_sock.h"
#include "ipc/event_loop.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace vmrefclock {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string find_program(const std::string& name) {
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    path += ":/usr/sbin:/sbin:/usr/bin:/bin";
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        std::string candidate = dir + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "";
}

int64_t now_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A chronyd that lives exactly as long as this object: killed in the destructor even
// when an assertion fails half-way through a test.
class PrivateChronyd {
  public:
    PrivateChronyd(std::string chronyd, std::string chronyc)
        : chronyd_(std::move(chronyd)), chronyc_(std::move(chronyc)) {
        std::ofstream(conf_path()) << config_lines();
    }
    ~PrivateChronyd() { stop(); }

    // The whole chrony.conf; no driftfile, dumpdir, rtcfile or logdir, so nothing
    // outside dir_ is written.
    std::string config_lines() const {
        return "refclock SOCK " + refclock_socket() + " refid VMCK poll 2\n" + "bindcmdaddress " +
               command_socket() + "\n" +               //
               "pidfile " + dir_ + "/chronyd.pid\n" +  //
               "cmdport 0\n" +                         // no UDP command port
               "port 0\n";                             // no NTP server port
    }

    // Starts chronyd and waits until both of its sockets exist.
    bool start() {
        std::string conf = conf_path();
        std::string log = dir_ + "/chronyd.log";
        std::vector<std::string> args = {chronyd_, "-x", "-d", "-u", "root", "-f", conf};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        int rc = posix_spawn(&pid_, chronyd_.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            pid_ = -1;
            return false;
        }
        for (int i = 0; i < 500; ++i) {
            if (fs::exists(refclock_socket()) && fs::exists(command_socket())) return true;
            if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        for (int i = 0; i < 200; ++i) {
            if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    // Output of "chronyc -h <command socket> <args>".
    std::string chronyc(const std::string& args) const {
        std::string cmd = chronyc_ + " -h " + command_socket() + " " + args + " 2>&1";
        std::string out;
        if (FILE* p = popen(cmd.c_str(), "r")) {
            char buf[512];
            while (fgets(buf, sizeof buf, p)) out += buf;
            pclose(p);
        }
        return out;
    }

    std::string log() const {
        std::ifstream in(dir_ + "/chronyd.log");
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    std::string conf_path() const { return dir_ + "/chrony.conf"; }
    std::string refclock_socket() const { return dir_ + "/vm.sock"; }
    std::string command_socket() const { return dir_ + "/chronyd.sock"; }

  private:
    std::string chronyd_, chronyc_;
    // mkdtemp's 0700: chronyd refuses a command socket in a directory others can write to.
    test::TempDir tmp_{"vmr-chronyd"};
    std::string dir_ = tmp_.path();
    pid_t pid_ = -1;
};

// The CSV fields of the VMCK line of "chronyc -c sources", or empty.
std::vector<std::string> refclock_fields(const std::string& sources_csv) {
    std::stringstream lines(sources_csv);
    std::string line;
    while (std::getline(lines, line)) {
        std::vector<std::string> fields;
        std::stringstream cells(line);
        std::string cell;
        while (std::getline(cells, cell, ',')) fields.push_back(cell);
        if (fields.size() > 5 && fields[2] == "VMCK") return fields;
    }
    return {};
}

class RealChronyd : public ::testing::Test {
  protected:
    void SetUp() override {
        chronyd_path_ = find_program("chronyd");
        chronyc_path_ = find_program("chronyc");
        if (chronyd_path_.empty() || chronyc_path_.empty()) GTEST_SKIP() << "chrony not installed";
        if (geteuid() != 0) GTEST_SKIP() << "chronyd -u root needs root";
        chronyd_ = std::make_unique<PrivateChronyd>(chronyd_path_, chronyc_path_);
        ASSERT_TRUE(chronyd_->start()) << chronyd_->log();
    }

    std::string chronyd_path_, chronyc_path_;
    std::unique_ptr<PrivateChronyd> chronyd_;
};

// Feeds 2 Hz samples until chronyd reports the refclock reachable.
void feed_until_reachable(PrivateChronyd& chronyd, ChronySockSink& sink, std::chrono::seconds limit,
                          std::vector<std::string>& fields) {
    const auto t0 = Clock::now();
    auto next_check = t0 + std::chrono::seconds(4);
    while (Clock::now() - t0 < limit) {
        Sample s;
        s.time_ns = now_ns(CLOCK_REALTIME);
        s.offset_ns = 50'000;  // reference 50 us ahead of the system clock
        auto st = sink.send(s, now_ns(CLOCK_MONOTONIC));
        EXPECT_TRUE(st.ok()) << st.error().message;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        if (Clock::now() >= next_check) {
            fields = refclock_fields(chronyd.chronyc("-c sources"));
            if (fields.size() > 5 && fields[5] != "0") return;
            next_check += std::chrono::seconds(1);
        }
    }
}

TEST_F(RealChronyd, RefclockBecomesReachable) {
    ChronySockSink sink(chronyd_->refclock_socket());
    const auto t0 = Clock::now();
    std::vector<std::string> fields;
    feed_until_reachable(*chronyd_, sink, std::chrono::seconds(20), fields);
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::cout << "refclock reachable after " << elapsed_s << " s, " << sink.sent()
              << " samples; sources: " << chronyd_->chronyc("-c sources")
              << "sourcestats: " << chronyd_->chronyc("-c sourcestats");
    ASSERT_GT(fields.size(), 5u) << chronyd_->chronyc("-c sources") << chronyd_->log();
    EXPECT_NE(fields[5], "0") << "reach stayed 0\n" << chronyd_->log();
    EXPECT_TRUE(sink.connected());
}

TEST_F(RealChronyd, SinkReconnectsAfterChronydRestart) {
    ChronySockSink sink(chronyd_->refclock_socket());
    Sample s;
    s.time_ns = now_ns(CLOCK_REALTIME);
    ASSERT_TRUE(sink.send(s, now_ns(CLOCK_MONOTONIC)).ok());

    chronyd_->stop();
    ASSERT_TRUE(chronyd_->start()) << chronyd_->log();
    // The old connection points at the dead chronyd's socket; the sink must find the
    // new one on its own, and chronyd must then count the samples.
    const auto t0 = Clock::now();
    std::vector<std::string> fields;
    feed_until_reachable(*chronyd_, sink, std::chrono::seconds(20), fields);
    std::cout << "reachable again after restart in "
              << std::chrono::duration<double>(Clock::now() - t0).count() << " s\n";
    ASSERT_GT(fields.size(), 5u) << chronyd_->log();
    EXPECT_NE(fields[5], "0") << chronyd_->log();
}

TEST_F(RealChronyd, ChronyControlResetsSources) {
    EventLoop loop;
    ChronyControl control(loop, chronyc_path_, chronyd_->command_socket());
    bool done = false, ok = false;
    std::string detail;
    control.on_done = [&](bool result_ok, const std::string& result_detail) {
        done = true;
        ok = result_ok;
        detail = result_detail;
        loop.stop();
    };
    Timer deadline(loop, [&] { loop.stop(); });
    deadline.arm(10'000'000'000, 0);
    const auto t0 = Clock::now();
    control.reset_sources("real chronyd test");
    ASSERT_TRUE(loop.run().ok());
    std::cout << "chronyc reset sources took "
              << std::chrono::duration<double>(Clock::now() - t0).count() << " s\n";
    ASSERT_TRUE(done);
    EXPECT_TRUE(ok) << detail;
    EXPECT_EQ(detail, "exit status 0: 200 OK");
}

TEST_F(RealChronyd, ChronyControlReportsChronydAbsent) {
    chronyd_->stop();
    EventLoop loop;
    ChronyControl control(loop, chronyc_path_, chronyd_->command_socket());
    bool ok = true;
    std::string detail;
    control.on_done = [&](bool result_ok, const std::string& result_detail) {
        ok = result_ok;
        detail = result_detail;
        loop.stop();
    };
    Timer deadline(loop, [&] { loop.stop(); });
    deadline.arm(10'000'000'000, 0);
    control.reset_sources("chronyd absent");
    ASSERT_TRUE(loop.run().ok());
    EXPECT_FALSE(ok);
    EXPECT_EQ(detail.rfind("exit status 1", 0), 0u) << detail;
}

}  // namespace
}  // namespace vmrefclock

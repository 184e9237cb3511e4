// vmrefclockctl doctor's checks over a temporary chrony config and a fake chronyc.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ipc/ctl/doctor.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

namespace fs = std::filesystem;

class Doctor : public ::testing::Test {
  protected:
    void SetUp() override {
        fs::create_directories(dir_ / "conf.d");
        std::ofstream(dir_ / "vmrefclockd.toml") << "[chrony]\npoll = 2\n";
        std::ofstream(dir_ / "chrony.conf")
            << "pool 2.debian.pool.ntp.org iburst\nconfdir " << (dir_ / "conf.d").string() << "\n";
        options_.config_path = dir_ / "vmrefclockd.toml";
        options_.chrony_conf = dir_ / "chrony.conf";
        options_.status_socket = dir_ / "status.sock";
        options_.check_source = [](const Config&) {
            return DoctorCheck{"time source present and readable", true, "fake", ""};
        };
        options_.run = [this](const std::vector<std::string>& argv) {
            argv_ = argv;
            return chronyc_;
        };
    }

    const DoctorCheck& check(const std::vector<DoctorCheck>& checks, const std::string& prefix) {
        for (const auto& c : checks) {
            if (c.name.rfind(prefix, 0) == 0) return c;
        }
        static DoctorCheck none;
        ADD_FAILURE() << "no check " << prefix;
        return none;
    }

    test::TempDir tmp_{"vmr_doctor"};
    fs::path dir_ = tmp_.path();
    DoctorOptions options_;
    ProgramOutput chronyc_{0, "^,-,192.0.2.1,2,6,377,12,0.1,0.1,0.01\n"};
    std::vector<std::string> argv_;
};

TEST_F(Doctor, MissingRefclockLineFailsWithAHint) {
    auto checks = run_doctor(options_);
    ASSERT_EQ(checks.size(), 6u);
    EXPECT_TRUE(check(checks, "config valid").passed) << check(checks, "config valid").detail;
    const DoctorCheck& line = check(checks, "refclock configured");
    EXPECT_FALSE(line.passed);
    EXPECT_NE(line.hint.find("vmrefclockctl chrony-conf"), std::string::npos) << line.hint;
    const DoctorCheck& reach = check(checks, "chrony sees");
    EXPECT_FALSE(reach.passed);
    EXPECT_FALSE(reach.hint.empty());
    const DoctorCheck& daemon = check(checks, "vmrefclockd running");
    EXPECT_FALSE(daemon.passed);
    EXPECT_NE(daemon.detail.find("not running"), std::string::npos) << daemon.detail;
    std::string text = render_doctor(checks);
    EXPECT_NE(text.find("[FAIL] refclock configured"), std::string::npos) << text;
    EXPECT_NE(text.find("fix: "), std::string::npos) << text;
    // chronyc is asked through the configured command socket.
    EXPECT_EQ(argv_, (std::vector<std::string>{"chronyc", "-n", "-c", "-h",
                                               "/run/chrony/chronyd.sock", "sources"}));
}

TEST_F(Doctor, LineInConfdirWithFullReachPasses) {
    Config defaults;
    std::ofstream(dir_ / "conf.d/vmrefclock.conf") << chrony_refclock_line(defaults) << "\n";
    chronyc_.output += "#,*,VMCK,0,2,377,0,0.000001,0.000001,0.0000001\n";
    auto checks = run_doctor(options_);
    EXPECT_TRUE(check(checks, "refclock configured").passed)
        << check(checks, "refclock configured").detail;
    EXPECT_TRUE(check(checks, "chrony sees").passed) << check(checks, "chrony sees").detail;
}

TEST_F(Doctor, PartialReachAndPollMismatchFail) {
    std::ofstream(dir_ / "conf.d/vmrefclock.conf")
        << "refclock SOCK /run/chrony/vmrefclock.sock refid VMCK poll 3\n";
    chronyc_.output += "#,?,VMCK,0,3,17,0,0.000001,0.000001,0.0000001\n";
    auto checks = run_doctor(options_);
    const DoctorCheck& line = check(checks, "refclock configured");
    EXPECT_FALSE(line.passed);
    EXPECT_NE(line.detail.find("poll 3"), std::string::npos) << line.detail;
    const DoctorCheck& reach = check(checks, "chrony sees");
    EXPECT_FALSE(reach.passed);
    EXPECT_NE(reach.detail.find("reach 17"), std::string::npos) << reach.detail;
}

TEST_F(Doctor, InvalidConfigIsReportedAndDefaultsUsed) {
    std::ofstream(dir_ / "vmrefclockd.toml") << "[chrony]\nno_such_key = 1\n";
    auto checks = run_doctor(options_);
    EXPECT_FALSE(check(checks, "config valid").passed);
    EXPECT_FALSE(check(checks, "config valid").hint.empty());
    EXPECT_EQ(checks.size(), 6u);
}

// chronyd's SOCK socket as chronyd leaves it: root:root 0755, so only root or a
// process with CAP_DAC_OVERRIDE (the shipped unit's one capability) may send to it.
TEST_F(Doctor, RootOnlyChronySocketNeedsTheCapability) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to own the socket";
    const std::string sock = (dir_ / "vmrefclock.sock").string();
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    sock.copy(addr.sun_path, sizeof addr.sun_path - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    chmod(sock.c_str(), 0755);
    chmod(dir_.c_str(), 0755);
    std::ofstream(dir_ / "vmrefclockd.toml") << "[chrony]\npoll = 2\nsocket = \"" << sock << "\"\n";
    options_.service_user = "nobody";

    options_.service_dac_override = false;
    const DoctorCheck without = check(run_doctor(options_), "chronyd's SOCK socket");
    EXPECT_FALSE(without.passed) << without.detail;
    EXPECT_NE(without.hint.find("CAP_DAC_OVERRIDE"), std::string::npos) << without.hint;

    options_.service_dac_override = true;
    const DoctorCheck with = check(run_doctor(options_), "chronyd's SOCK socket");
    EXPECT_TRUE(with.passed) << with.detail;
    close(fd);
}

TEST(DoctorLine, MatchesTheConfig) {
    Config config;
    config.chrony.socket = "/run/chrony/x.sock";
    config.chrony.poll = 3;
    EXPECT_EQ(chrony_refclock_line(config),
              "refclock SOCK /run/chrony/x.sock refid VMCK poll 3 precision 1e-7");
}

}  // namespace
}  // namespace vmrefclock

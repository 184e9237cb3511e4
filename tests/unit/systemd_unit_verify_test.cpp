// The shipped unit, sysusers and tmpfiles files, checked by systemd's own tools.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
    if (const char* dir = std::getenv("VMR_SOURCE_DIR"); dir && *dir) return dir;
    return VMR_DEFAULT_SOURCE_DIR;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct CommandResult {
    int status = -1;
    std::string output;  // stdout and stderr
};

CommandResult run(const std::string& command) {
    CommandResult r;
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf{};
    while (size_t n = fread(buf.data(), 1, buf.size(), p)) r.output.append(buf.data(), n);
    int status = pclose(p);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

bool have(const char* tool) {
    return run(std::string("command -v ") + tool + " >/dev/null").status == 0;
}

class SystemdFiles : public ::testing::Test {
  protected:
    // The unit with ExecStart pointing at an executable that exists here: the built
    // daemon when there is one, else /bin/true (verify checks the path is executable).
    fs::path unit_copy() {
        std::string daemon = "/bin/true";
        const char* env_bin = std::getenv("VMR_BIN_DIR");
        fs::path bin = env_bin && *env_bin ? env_bin : VMR_DEFAULT_BIN_DIR;
        if (access((bin / "vmrefclockd").c_str(), X_OK) == 0) {
            daemon = (bin / "vmrefclockd").string();
        }
        std::string unit = read_file(source_dir() / "systemd/vmrefclockd.service");
        unit = std::regex_replace(unit, std::regex("ExecStart=/usr/sbin/vmrefclockd"),
                                  "ExecStart=" + daemon);
        fs::path copy = dir_ / "vmrefclockd.service";
        std::ofstream(copy) << unit;
        return copy;
    }

    test::TempDir tmp_{"vmr_unit"};
    fs::path dir_ = tmp_.path();
};

TEST_F(SystemdFiles, UnitPassesSystemdAnalyzeVerify) {
    if (!have("systemd-analyze")) GTEST_SKIP() << "systemd-analyze not installed";
    CommandResult r = run("systemd-analyze verify --man=no " + unit_copy().string());
    EXPECT_EQ(r.status, 0) << r.output;
    // Unknown keys and bad values are only warnings to verify: any message counts.
    EXPECT_EQ(r.output, "") << r.output;
}

TEST_F(SystemdFiles, UnitIsHardened) {
    if (!have("systemd-analyze")) GTEST_SKIP() << "systemd-analyze not installed";
    CommandResult r =
        run("systemd-analyze security --offline=yes --no-pager " + unit_copy().string());
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(r.output, m, std::regex(R"(Overall exposure level for \S+: ([0-9.]+))")))
        << r.output;
    EXPECT_LE(std::stod(m[1]), 2.0) << r.output;
}

TEST_F(SystemdFiles, UnitHasTheProtocolSettings) {
    std::string unit = read_file(source_dir() / "systemd/vmrefclockd.service");
    for (const char* line :
         {"Type=notify", "WatchdogSec=30s", "Restart=on-failure",
          "After=chronyd.service chrony.service", "User=vmrefclock",
          "CapabilityBoundingSet=CAP_DAC_OVERRIDE\n", "AmbientCapabilities=CAP_DAC_OVERRIDE\n",
          "NoNewPrivileges=yes", "ProtectSystem=strict", "DevicePolicy=closed",
          "DeviceAllow=char-ptp r", "DeviceAllow=/dev/vmclock0 r", "RuntimeDirectory=vmrefclock",
          "RestrictAddressFamilies=AF_UNIX", "SystemCallFilter=@system-service",
          "ExecReload=/bin/kill -HUP $MAINPID",
          // vmrefclockd exits 75 to be restarted when a clock device appears after start.
          "RestartForceExitStatus=75", "SuccessExitStatus=75"}) {
        EXPECT_NE(unit.find(line), std::string::npos) << line;
    }
}

TEST_F(SystemdFiles, SysusersAndTmpfilesApplyToAnEmptyRoot) {
    if (!have("systemd-sysusers") || !have("systemd-tmpfiles")) {
        GTEST_SKIP() << "systemd-sysusers/systemd-tmpfiles not installed";
    }
    fs::path root = dir_ / "root";
    fs::create_directories(root / "etc");
    CommandResult users = run("systemd-sysusers --root=" + root.string() + " " +
                              (source_dir() / "systemd/vmrefclock.sysusers").string());
    ASSERT_EQ(users.status, 0) << users.output;
    EXPECT_NE(read_file(root / "etc/passwd").find("vmrefclock:"), std::string::npos);
    EXPECT_NE(read_file(root / "etc/group").find("vmrefclock:"), std::string::npos);
    CommandResult tmp = run("systemd-tmpfiles --create --root=" + root.string() + " " +
                            (source_dir() / "systemd/vmrefclock.tmpfiles").string());
    ASSERT_EQ(tmp.status, 0) << tmp.output;
    EXPECT_TRUE(fs::is_directory(root / "run/vmrefclock"));
    EXPECT_EQ(fs::status(root / "run/vmrefclock").permissions() & fs::perms::all,
              fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
}

}  // namespace
}  // namespace vmrefclock

// `vmrefclockctl doctor` against a real chronyd: one whose config lacks the refclock
// line (every broken link reported with a fix), and one that has it.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/integration/harness.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;

struct DoctorReport {
    int exit_code = -1;
    std::string output;
    int failed = 0;
    bool failed_check(const std::string& name) const {
        return output.find("[FAIL] " + name) != std::string::npos;
    }
    bool passed_check(const std::string& name) const {
        return output.find("[pass] " + name) != std::string::npos;
    }
};

DoctorReport run_doctor(const TempDir& dir, const std::string& chrony_conf) {
    DoctorReport report;
    report.output = run_command({bin_dir() + "/vmrefclockctl", "-c", dir.file("vmrefclockd.toml"),
                                 "doctor", "--chrony-conf", chrony_conf},
                                &report.exit_code);
    std::istringstream lines(report.output);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("[FAIL] ", 0) == 0) ++report.failed;
    }
    return report;
}

TEST(Doctor, ChronyWithoutTheRefclockLineGetsAFixForEachFailure) {
    TempDir dir;
    // A private chronyd (-x) whose config has no refclock at all.
    const std::string conf = dir.file("chrony.conf"), cmd_socket = dir.file("chronyd.sock");
    write_file(conf, "bindcmdaddress " + cmd_socket + "\ncmdport 0\nport 0\npidfile " +
                         dir.file("chronyd.pid") + "\n");
    auto chronyd = start_chronyd(conf, cmd_socket, dir.file("chronyd.log"));
    const std::string sock = dir.file("vmrefclock.sock");
    write_file(dir.file("vmrefclockd.toml"),
               "[source]\ntype = \"vmclock\"\npath = \"" + dir.file("vmclock0") +
                   "\"\n[chrony]\nsocket = \"" + sock + "\"\ncontrol_socket = \"" + cmd_socket +
                   "\"\npoll = 2\n[status]\nsocket = \"" + dir.file("status.sock") + "\"\n");

    DoctorReport report = run_doctor(dir, conf);
    std::printf("%s", report.output.c_str());
    EXPECT_TRUE(report.passed_check("config valid")) << report.output;
    EXPECT_TRUE(report.failed_check("chronyd's SOCK socket exists and is writable"))
        << report.output;
    EXPECT_TRUE(report.failed_check("refclock configured in chrony's config")) << report.output;
    EXPECT_TRUE(report.failed_check("chrony sees the refclock with full reach")) << report.output;
    EXPECT_TRUE(report.failed_check("vmrefclockd running and ok")) << report.output;
    // Exit code = failed checks, and each failure says how to fix it.
    EXPECT_EQ(report.exit_code, report.failed) << report.output;
    EXPECT_GE(report.failed, 4);
    size_t fixes = 0;
    for (size_t at = 0; (at = report.output.find("\n       fix: ", at)) != std::string::npos;
         ++at) {
        ++fixes;
    }
    EXPECT_EQ(fixes, static_cast<size_t>(report.failed)) << report.output;
    // The fix names the exact line chrony needs.
    EXPECT_NE(report.output.find("refclock SOCK " + sock), std::string::npos) << report.output;
    EXPECT_NE(report.output.find(conf), std::string::npos) << report.output;
}

TEST(Doctor, ChronyWithTheRefclockLinePassesThatCheck) {
    TempDir dir;
    Chrony chrony(dir, 2);  // its config has "refclock SOCK <sock> refid VMCK poll 2"
    write_file(dir.file("vmrefclockd.toml"),
               vmclock_daemon_config(dir.file("vmclock0"), chrony, 2, dir.file("status.sock")));
    DoctorReport report = run_doctor(dir, dir.file("chrony.conf"));
    EXPECT_TRUE(report.passed_check("refclock configured in chrony's config")) << report.output;
    // chronyd made the SOCK socket; the check gets past "does not exist".
    EXPECT_EQ(report.output.find(chrony.sock_path() + " does not exist"), std::string::npos)
        << report.output;
    std::printf("%s", report.output.c_str());
    EXPECT_TRUE(report.failed_check("vmrefclockd running and ok")) << report.output;
    EXPECT_EQ(report.exit_code, report.failed) << report.output;
}

// type = "auto" on a guest with only a full vmclock page: doctor must see what the
// daemon's discovery sees (the config's roots, the page prober), not a default search.
TEST(Doctor, AutoSourceIsJudgedByTheDaemonsDiscovery) {
    TempDir dir;
    std::filesystem::create_directories(dir.file("sys/class/ptp"));
    std::filesystem::create_directories(dir.file("dev"));
    auto sim = start_vmclock_sim(dir, dir.file("dev/vmclock0"), dir.file("truth"), 0.00025, 3);
    write_file(dir.file("vmrefclockd.toml"),
               "[source]\ntype = \"auto\"\nsysfs_root = \"" + dir.file("sys") +
                   "\"\ndev_root = \"" + dir.file("dev") + "\"\n[disruption]\nvmclock = \"" +
                   dir.file("dev/vmclock0") + "\"\n");
    DoctorReport report = run_doctor(dir, dir.file("chrony.conf"));
    std::printf("%s", report.output.c_str());
    EXPECT_TRUE(report.passed_check("time source present and readable")) << report.output;
    EXPECT_NE(report.output.find(dir.file("dev/vmclock0")), std::string::npos) << report.output;
}

}  // namespace
}  // namespace vmrefclock::test

// What startup refuses beyond the file's content, and the poll-interval warning, with
// stand-in chronyc programs for each generation.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "ipc/ctl/startup_checks.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

// A shell script that answers --version and --help like chronyc `version` does.
std::string fake_chronyc(const test::TempDir& dir, const std::string& version, bool user_option) {
    const std::string path = dir.file("chronyc-" + version);
    std::ofstream(path) << "#!/bin/sh\n"
                        << "case \"$1\" in\n"
                        << "--version) echo 'chronyc (chrony) version " << version
                        << " (+READLINE)';;\n"
                        << "--help) echo 'Usage: chronyc [OPTION]... [COMMAND]...'"
                        << (user_option ? "; printf '  -u USER\\tSpecify user (_chrony)\\n'" : "")
                        << ";;\n"
                        << "esac\n";
    chmod(path.c_str(), 0755);
    return path;
}

TEST(StartupChecks, MissingGroupAndChronycAreErrors) {
    Config config;
    config.status.group = "no-such-group-vmr";
    config.chrony.chronyc = "/nonexistent/chronyc";
    StartupCheck check = check_startup(config);
    ASSERT_EQ(check.errors.size(), 2u);
    EXPECT_EQ(check.errors[0].rfind("[status] group \"no-such-group-vmr\": no such group", 0), 0u)
        << check.errors[0];
    EXPECT_EQ(check.errors[1].rfind("[chrony] chronyc \"/nonexistent/chronyc\" cannot be run: "
                                    "/nonexistent/chronyc does not exist",
                                    0),
              0u)
        << check.errors[1];
    // Without a control socket chronyc is never run, so it need not exist.
    config.chrony.control_socket.clear();
    config.status.group.clear();
    EXPECT_TRUE(check_startup(config).errors.empty());
}

TEST(StartupChecks, ChronycIsLookedUpInPathAndMustBeExecutable) {
    test::TempDir dir("vmr-checks");
    const std::string script = fake_chronyc(dir, "4.3", false);
    chmod(script.c_str(), 0644);
    ChronycInfo info = probe_chronyc(script);
    EXPECT_EQ(info.problem, script + " is not executable");
    info = probe_chronyc("no-such-chronyc-vmr");
    EXPECT_EQ(info.problem.rfind("no executable \"no-such-chronyc-vmr\" in PATH", 0), 0u)
        << info.problem;
    info = probe_chronyc("sh");  // found through PATH
    EXPECT_TRUE(info.problem.empty()) << info.problem;
    EXPECT_FALSE(info.path.empty());
}

TEST(StartupChecks, ChronycGenerationsAndTheirOptions) {
    test::TempDir dir("vmr-checks");
    ChronycInfo c43 = probe_chronyc(fake_chronyc(dir, "4.3", false));
    EXPECT_EQ(c43.version, "4.3");
    EXPECT_FALSE(c43.has_user_option);
    EXPECT_TRUE(chronyc_options(c43, true).empty());
    ChronycInfo c48 = probe_chronyc(fake_chronyc(dir, "4.8", true));
    EXPECT_EQ(c48.version, "4.8");
    EXPECT_TRUE(c48.has_user_option);
    // As root it would drop to its own user: kept root. As another user: nothing to say.
    EXPECT_EQ(chronyc_options(c48, true), (std::vector<std::string>{"-u", "root"}));
    EXPECT_TRUE(chronyc_options(c48, false).empty());
}

TEST(StartupChecks, IntervalAgainstThePollByChronyVersion) {
    test::TempDir dir("vmr-checks");
    Config config;
    config.chrony.chronyc = fake_chronyc(dir, "4.3", false);
    // The defaults: 0.5-s polls, chrony poll 2 (4 s) = 8 samples: no warning.
    EXPECT_TRUE(check_startup(config).warnings.empty());
    config.source.interval_s = 60;
    config.chrony.poll = -4;
    StartupCheck check = check_startup(config);
    ASSERT_EQ(check.warnings.size(), 1u);
    EXPECT_NE(check.warnings[0].find("chrony 4.3 (before 4.7"), std::string::npos)
        << check.warnings[0];
    EXPECT_NE(check.warnings[0].find("will never use the refclock"), std::string::npos);
    std::printf("%s\n", check.warnings[0].c_str());
    config.source.interval_s = 1;  // 4 per 4-s poll: works, no margin
    config.chrony.poll = 2;
    check = check_startup(config);
    ASSERT_EQ(check.warnings.size(), 1u);
    EXPECT_NE(check.warnings[0].find("no margin"), std::string::npos) << check.warnings[0];
    // chrony 4.7+ needs one sample per poll.
    config.chrony.chronyc = fake_chronyc(dir, "4.8", true);
    EXPECT_TRUE(check_startup(config).warnings.empty());
    config.source.interval_s = 8;
    ASSERT_EQ(check_startup(config).warnings.size(), 1u);
    // Version unknown: judged as before 4.7.
    config.chrony.chronyc = "/nonexistent/chronyc";
    config.chrony.control_socket.clear();
    config.source.interval_s = 1;
    check = check_startup(config);
    ASSERT_EQ(check.warnings.size(), 1u);
    EXPECT_NE(check.warnings[0].find("version unknown"), std::string::npos) << check.warnings[0];
}

}  // namespace
}  // namespace vmrefclock

// The shipped unit's credentials against a chronyd that drops to _chrony as packaged
// ones do: vmrefclockd as an unprivileged user with exactly the capabilities the unit
// file grants must feed samples and reset chrony; without them it must not (so the
// capability is needed, and the test notices if chrony's socket modes change).
// setpriv stands in for systemd: no PID 1 here to apply the unit itself.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr uid_t kNobody = 65534;

// The value of `key=` in the unit file ("" if absent; throws if the file is missing).
std::string unit_setting(const std::string& key) {
    const std::string path = source_dir() + "/systemd/vmrefclockd.service";
    std::istringstream unit(read_file(path));
    if (unit.str().empty()) throw std::runtime_error("cannot read " + path);
    for (std::string line; std::getline(unit, line);) {
        if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
    }
    return "";
}

// "CAP_DAC_OVERRIDE CAP_X" -> "+dac_override,+x" as setpriv wants them.
std::string setpriv_caps(const std::string& unit_caps) {
    std::istringstream in(unit_caps);
    std::string out;
    for (std::string cap; in >> cap;) {
        std::transform(cap.begin(), cap.end(), cap.begin(), ::tolower);
        if (cap.rfind("cap_", 0) == 0) cap = cap.substr(4);
        out += (out.empty() ? "+" : ",+") + cap;
    }
    return out;
}

// setpriv arguments for user nobody with the unit's supplementary groups, `caps`
// ("" = none) as bounding, inheritable and ambient set, and no_new_privs.
std::vector<std::string> as_service(const std::string& caps) {
    std::vector<std::string> argv{"setpriv", "--reuid=65534", "--regid=65534", "--no-new-privs"};
    std::string groups = unit_setting("SupplementaryGroups");
    std::replace(groups.begin(), groups.end(), ' ', ',');
    argv.push_back(groups.empty() ? "--clear-groups" : "--groups=" + groups);
    if (caps.empty()) {
        argv.insert(argv.end(), {"--inh-caps=-all", "--bounding-set=-all"});
    } else {
        argv.insert(argv.end(), {"--inh-caps=" + caps, "--ambient-caps=" + caps,
                                 "--bounding-set=-all," + caps});
    }
    return argv;
}

// The daemon's config names the bare chronyc of each generation: 4.8's, which drops root
// to its configured user when started as root, must work as well as 4.3's.
std::string with_chronyc(std::string config, const std::string& chronyc) {
    const size_t at = config.find("chronyc = \"");
    const size_t end = config.find('\n', at);
    return config.replace(at, end - at, "chronyc = \"" + chronyc + "\"");
}

class ServiceCredentials : public ::testing::TestWithParam<std::string> {};

TEST_P(ServiceCredentials, TheUnitsCapabilitiesFeedAndResetAChronyRunningAsChrony) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to start chronyd and drop to nobody";
    std::optional<ChronyBuild> build;
    for (const auto& b : chrony_builds()) {
        if (b.name == GetParam()) build = b;
    }
    if (!build) GTEST_SKIP() << "chrony " << GetParam() << " is not built (scripts/chrony-4.8)";
    if (getpwnam("_chrony") == nullptr) GTEST_SKIP() << "no _chrony user (chrony package)";
    if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv (util-linux)";
    ASSERT_EQ(unit_setting("AmbientCapabilities"), unit_setting("CapabilityBoundingSet"));
    const std::string caps = setpriv_caps(unit_setting("AmbientCapabilities"));
    ASSERT_EQ(unit_setting("NoNewPrivileges"), "yes");

    // Laid out like a guest: chronyd creates run/ (0750 _chrony) and its sockets there.
    TempDir dir("vmr-creds");
    chmod(dir.path().c_str(), 0755);
    const std::string page = dir.file("vmclock0"), truth_file = dir.file("truth");
    auto sim = start_vmclock_sim(dir, page, truth_file, 0.00025, 3);
    Chrony chrony(dir, 2, "", "_chrony", dir.file("run"), *build);
    // The status socket in a directory the service user owns, as RuntimeDirectory= does.
    const std::string status_dir = dir.file("status");
    std::filesystem::create_directory(status_dir);
    ASSERT_EQ(chown(status_dir.c_str(), kNobody, kNobody), 0);
    write_file(dir.file("vmrefclockd.toml"),
               with_chronyc(vmclock_daemon_config(page, chrony, 2, status_dir + "/status.sock"),
                            build->chronyc_argv.front()));
    // A copy nobody may execute wherever the build tree lives.
    const std::string daemon_bin = dir.file("vmrefclockd");
    std::filesystem::copy_file(bin_dir() + "/vmrefclockd", daemon_bin);
    chmod(daemon_bin.c_str(), 0755);
    auto start_daemon = [&](const std::string& with_caps, const std::string& log) {
        std::vector<std::string> argv = as_service(with_caps);
        argv.insert(argv.end(), {daemon_bin, "-c", dir.file("vmrefclockd.toml")});
        return std::make_unique<Process>(argv, dir.file(log));
    };
    const std::string socket = status_dir + "/status.sock";

    {
        SCOPED_TRACE("with the unit's capabilities (" + caps + ")");
        auto daemon = start_daemon(caps, "daemon.log");
        json s;
        ASSERT_TRUE(wait_until(
            [&] {
                s = status_of(socket);
                return s.is_object() && s["state"] == "ok" && s["chrony"]["connected"] == true;
            },
            15s))
            << s.dump(2) << daemon->log();
        ASSERT_TRUE(
            wait_until([&] { return !chrony.reach().empty() && chrony.reach() != "0"; }, 12s))
            << chrony.chronyc({"sources"}) << daemon->log();
        std::printf("chrony %s, as nobody with %s: chrony reach %s\n", build->name.c_str(),
                    caps.c_str(), chrony.reach().c_str());
        sim->signal(SIGUSR1);
        ASSERT_TRUE(wait_until(
            [&] { return daemon->log().find("chrony sources reset (") != std::string::npos; }, 10s))
            << daemon->log();
        EXPECT_EQ(daemon->log().find("chrony reset ("), std::string::npos) << daemon->log();
        EXPECT_EQ(daemon->stop(), 0) << daemon->log();
    }
    {
        SCOPED_TRACE("without capabilities");
        auto daemon = start_daemon("", "daemon-nocaps.log");
        json s;
        ASSERT_TRUE(wait_until(
            [&] {
                s = status_of(socket);
                return s.is_object() && s["polls"].get<int>() >= 3;
            },
            10s))
            << daemon->log();
        EXPECT_EQ(s["chrony"]["connected"], false) << s.dump(2);
        std::string error = s["chrony"]["last_error"].is_string() ? s["chrony"]["last_error"] : "";
        EXPECT_NE(error.find("ermission denied"), std::string::npos) << s.dump(2);
        int rc = -1;
        run_command({bin_dir() + "/vmrefclockctl", "-s", socket, "reset"}, &rc);
        EXPECT_EQ(rc, 0);
        ASSERT_TRUE(wait_until(
            [&] { return daemon->log().find("chrony reset (") != std::string::npos; }, 10s))
            << daemon->log();
        std::printf(
            "chrony %s, as nobody without capabilities: chrony socket \"%s\"; reset "
            "refused\n",
            build->name.c_str(), error.c_str());
    }
}

INSTANTIATE_TEST_SUITE_P(Chrony, ServiceCredentials, ::testing::Values("4.3", "4.8"),
                         [](const auto& info) {
                             std::string name = "chrony_" + info.param;
                             name[name.find('.')] = '_';
                             return name;
                         });

}  // namespace
}  // namespace vmrefclock::test

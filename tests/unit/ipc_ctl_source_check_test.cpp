// doctor's time-source check: the source vmrefclockd would choose (through the registry
// of source kinds), and the fix each kind's entry gives when it is missing.
#include "ipc/ctl/source_check.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"
#include "tests/support/test_page.h"

namespace vmrefclock {
namespace {

Config config_in(const test::TempDir& dir, SourceKind type) {
    Config config;
    config.source.type = type;
    config.source.sysfs_root = dir.file("sys");  // no PTP clocks
    config.source.dev_root = dir.file("dev");
    config.disruption.vmclock = dir.file("dev/vmclock0");
    return config;
}

TEST(DoctorSourceCheck, AMissingConfiguredPageFailsWithTheVmclockFix) {
    test::TempDir dir{"vmr-source-check"};
    Config config = config_in(dir, SourceKind::vmclock);
    config.source.path = dir.file("vmclock9");
    const DoctorCheck c = doctor_source_check(config, DoctorOptions{});
    EXPECT_FALSE(c.passed);
    EXPECT_EQ(c.detail, "vmclock " + config.source.path + ": " + config.source.path +
                            " does not exist ([source] type = \"vmclock\", path = \"" +
                            config.source.path + "\")");
    EXPECT_NE(c.hint.find("modprobe ptp_vmclock"), std::string::npos) << c.hint;
}

TEST(DoctorSourceCheck, NothingFoundGivesTheDiscoveryFix) {
    test::TempDir dir{"vmr-source-check"};
    const DoctorCheck c = doctor_source_check(config_in(dir, SourceKind::automatic), {});
    EXPECT_FALSE(c.passed);
    EXPECT_NE(c.detail.find("no PTP clock in"), std::string::npos) << c.detail;
    EXPECT_NE(c.hint.find("vmrefclockctl sources"), std::string::npos) << c.hint;
    Config ptp = config_in(dir, SourceKind::ptp);
    ptp.source.path = dir.file("ptp3");
    const DoctorCheck named = doctor_source_check(ptp, {});
    EXPECT_FALSE(named.passed);
    EXPECT_NE(named.hint.find("modprobe ptp_kvm"), std::string::npos) << named.hint;
}

TEST(DoctorSourceCheck, AFullPageFileThatTheConfigNamesPasses) {
    test::TestPage page;
    page.anchor(0);
    page.write();
    test::TempDir dir{"vmr-source-check"};
    Config config = config_in(dir, SourceKind::vmclock);
    config.source.path = page.path();
    const DoctorCheck c = doctor_source_check(config, {});
    EXPECT_TRUE(c.passed) << c.detail;
    EXPECT_EQ(c.detail, "vmclock " + page.path() + " ([source] type = \"vmclock\", path = \"" +
                            page.path() + "\")");
}

}  // namespace
}  // namespace vmrefclock

// Discovery over a fake sysfs/dev tree: KVM, vmclock, NIC, none.
#include "sources/discovery.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/sim/fakes/fake_sysfs.h"

namespace vmrefclock {
namespace {

using fake::FakeSysfsTree;

VmclockPageProber page_is(bool marker_only, std::string error = "") {
    return [=](const std::string& path) {
        VmclockPageProbe probe;
        probe.exists = std::filesystem::exists(path);
        if (probe.exists) {
            probe.marker_only = marker_only;
            probe.error = error;
        }
        return probe;
    };
}

DiscoveryOptions options_for(const FakeSysfsTree& tree, VmclockPageProber prober = {}) {
    DiscoveryOptions o;
    o.sysfs_root = tree.sysfs_root();
    o.dev_root = tree.dev_root();
    o.probe_vmclock = std::move(prober);
    return o;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(Discovery, KvmPtpWithoutVmclock) {
    FakeSysfsTree tree;
    tree.add_phc(0, "KVM virtual PTP");
    DiscoveryResult r = discover_sources(options_for(tree, page_is(true)));
    ASSERT_EQ(r.time_source, TimeSourceKind::phc);
    EXPECT_EQ(r.time_source_path, tree.dev_root() + "/ptp0");
    EXPECT_EQ(r.chosen()->kind, PhcKind::kvm);
    EXPECT_FALSE(r.vmclock_beside_phc);
    EXPECT_TRUE(contains(r.reason, "detected from the data")) << r.reason;
    const std::string text = format_discovery(r);
    EXPECT_TRUE(contains(text, "* " + tree.dev_root() + "/ptp0  \"KVM virtual PTP\"")) << text;
    EXPECT_TRUE(contains(text, "time source: ptp " + tree.dev_root() + "/ptp0")) << text;
    EXPECT_TRUE(contains(text, "vmclock page " + tree.dev_root() + "/vmclock0: absent")) << text;
}

TEST(Discovery, KvmPtpWithMarkerOnlyVmclockPage) {
    FakeSysfsTree tree;
    tree.add_phc(0, "KVM virtual PTP");
    tree.add_vmclock_page();
    DiscoveryResult r = discover_sources(options_for(tree, page_is(true)));
    ASSERT_EQ(r.time_source, TimeSourceKind::phc);
    EXPECT_TRUE(r.vmclock_beside_phc);
    EXPECT_TRUE(r.vmclock.marker_only);
    const std::string text = format_discovery(r);
    EXPECT_TRUE(contains(text, "marker-only")) << text;
    EXPECT_TRUE(contains(text, "disruption signal: vmclock page")) << text;
}

TEST(Discovery, VmclockPhcIsPreferredOverKvmAndNic) {
    FakeSysfsTree tree;
    tree.add_phc(0, "igb");
    tree.add_phc(1, "KVM virtual PTP");
    tree.add_phc(2, "vmclock0");
    tree.add_vmclock_page();
    DiscoveryResult r = discover_sources(options_for(tree, page_is(false)));
    ASSERT_EQ(r.time_source, TimeSourceKind::phc);
    EXPECT_EQ(r.chosen()->name, "ptp2");
    EXPECT_EQ(r.chosen()->kind, PhcKind::vmclock);
    EXPECT_TRUE(r.vmclock_beside_phc);  // even a full page: the PHC reads it for us
    ASSERT_EQ(r.phcs.size(), 3u);
    EXPECT_EQ(r.phcs[1].name, "ptp1");
    EXPECT_EQ(r.phcs[2].name, "ptp0");
    EXPECT_FALSE(r.phcs[2].allowed);
    EXPECT_TRUE(contains(format_discovery(r), "not a VM host clock")) << format_discovery(r);
}

TEST(Discovery, NicOnlyIsNotUsedUnlessAllowed) {
    FakeSysfsTree tree;
    tree.add_phc(0, "ena-ptp-00");
    DiscoveryResult r = discover_sources(options_for(tree, page_is(true)));
    EXPECT_EQ(r.time_source, TimeSourceKind::none);
    EXPECT_TRUE(contains(r.reason, "allow_phc")) << r.reason;
    EXPECT_TRUE(contains(format_discovery(r), "time source: none"));

    for (const std::string& allow :
         {std::string("ena-ptp-00"), std::string("ptp0"), tree.dev_root() + "/ptp0"}) {
        DiscoveryOptions o = options_for(tree, page_is(true));
        o.allowed_phcs = {allow};
        DiscoveryResult allowed = discover_sources(o);
        ASSERT_EQ(allowed.time_source, TimeSourceKind::phc) << allow;
        EXPECT_EQ(allowed.chosen()->clock_name, "ena-ptp-00");
        EXPECT_TRUE(contains(allowed.reason, "allow_phc")) << allowed.reason;
    }
}

TEST(Discovery, AllowedNicRanksAfterKvm) {
    FakeSysfsTree tree;
    tree.add_phc(0, "ena-ptp-00");
    tree.add_phc(1, "KVM virtual PTP");
    DiscoveryOptions o = options_for(tree);
    o.allowed_phcs = {"ena-ptp-00"};
    DiscoveryResult r = discover_sources(o);
    EXPECT_EQ(r.chosen()->name, "ptp1");
}

TEST(Discovery, FullVmclockPageWithoutPhcGivesTheTime) {
    FakeSysfsTree tree;
    tree.add_vmclock_page();
    DiscoveryResult r = discover_sources(options_for(tree, page_is(false)));
    ASSERT_EQ(r.time_source, TimeSourceKind::vmclock_page);
    EXPECT_EQ(r.time_source_path, tree.dev_root() + "/vmclock0");
    EXPECT_FALSE(r.vmclock_beside_phc);
    EXPECT_TRUE(contains(format_discovery(r), "time source: vmclock")) << format_discovery(r);
}

TEST(Discovery, MarkerOnlyPageAloneIsNoSource) {
    FakeSysfsTree tree;
    tree.add_vmclock_page();
    DiscoveryResult r = discover_sources(options_for(tree, page_is(true)));
    EXPECT_EQ(r.time_source, TimeSourceKind::none);
    EXPECT_TRUE(contains(r.reason, "marker-only")) << r.reason;
    EXPECT_TRUE(contains(r.reason, "no PTP clock")) << r.reason;
}

TEST(Discovery, UnreadablePageIsNotATimeSource) {
    FakeSysfsTree tree;
    tree.add_vmclock_page();
    DiscoveryResult r = discover_sources(options_for(tree, page_is(false, "bad magic")));
    EXPECT_EQ(r.time_source, TimeSourceKind::none);
    EXPECT_TRUE(contains(r.reason, "bad magic")) << r.reason;
    // Without a prober the page's kind is unknown: never a time source either.
    DiscoveryResult unprobed = discover_sources(options_for(tree));
    EXPECT_EQ(unprobed.time_source, TimeSourceKind::none);
    EXPECT_TRUE(unprobed.vmclock.exists);
}

TEST(Discovery, NothingAtAll) {
    FakeSysfsTree tree;
    DiscoveryResult r = discover_sources(options_for(tree, page_is(false)));
    EXPECT_EQ(r.time_source, TimeSourceKind::none);
    EXPECT_TRUE(r.phcs.empty());
    EXPECT_TRUE(contains(r.reason, "no PTP clock in")) << r.reason;
    EXPECT_TRUE(contains(r.reason, "no vmclock page")) << r.reason;
    EXPECT_TRUE(contains(format_discovery(r), ": none\n")) << format_discovery(r);
}

TEST(Discovery, MissingSysfsRootIsNothingNotACrash) {
    DiscoveryOptions o;
    o.sysfs_root = "/nonexistent-vmr";
    o.dev_root = "/nonexistent-vmr";
    DiscoveryResult r = discover_sources(o);
    EXPECT_EQ(r.time_source, TimeSourceKind::none);
}

TEST(Discovery, PhcWithoutDeviceNodeIsSkipped) {
    FakeSysfsTree tree;
    tree.add_phc(0, "KVM virtual PTP", /*with_device_node=*/false);
    tree.add_phc(1, "KVM virtual PTP");
    DiscoveryResult r = discover_sources(options_for(tree));
    ASSERT_EQ(r.time_source, TimeSourceKind::phc);
    EXPECT_EQ(r.chosen()->name, "ptp1");
    EXPECT_TRUE(contains(format_discovery(r), "no device node"));
}

TEST(Discovery, NumericOrderWithinAKind) {
    FakeSysfsTree tree;
    tree.add_phc(10, "KVM virtual PTP");
    tree.add_phc(2, "KVM virtual PTP");
    DiscoveryResult r = discover_sources(options_for(tree));
    EXPECT_EQ(r.chosen()->name, "ptp2");
}

TEST(Discovery, VmclockDisabledByConfig) {
    FakeSysfsTree tree;
    tree.add_phc(0, "KVM virtual PTP");
    tree.add_vmclock_page();
    DiscoveryOptions o = options_for(tree, page_is(true));
    o.use_vmclock = false;
    DiscoveryResult r = discover_sources(o);
    EXPECT_FALSE(r.vmclock_beside_phc);
    EXPECT_TRUE(contains(format_discovery(r), "not checked")) << format_discovery(r);
}

TEST(Discovery, ClockNameOfAConfiguredPath) {
    FakeSysfsTree tree;
    tree.add_phc(3, "KVM virtual PTP");
    EXPECT_EQ(phc_clock_name(tree.sysfs_root(), "/dev/ptp3"), "KVM virtual PTP");
    EXPECT_EQ(phc_clock_name(tree.sysfs_root(), "/dev/ptp4"), "");
    EXPECT_EQ(phc_clock_name(tree.sysfs_root(), "/dev/vmclock0"), "");
}

}  // namespace
}  // namespace vmrefclock

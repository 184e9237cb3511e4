// The registry of source kinds: one entry per kind, names parsed once, and the plan each
// kind makes from a config over a fake sysfs/dev tree.
#include "sources/registry.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/sim/fakes/fake_sysfs.h"
#include "tests/support/test_page.h"

namespace vmrefclock {
namespace {

using fake::FakeSysfsTree;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

Config config_over(const FakeSysfsTree& tree, SourceKind type) {
    Config config;
    config.source.type = type;
    config.source.sysfs_root = tree.sysfs_root();
    config.source.dev_root = tree.dev_root();
    config.disruption.vmclock = tree.dev_root() + "/vmclock0";
    return config;
}

TEST(SourceKinds, EveryKindHasOneEntryAndOneName) {
    std::set<SourceKind> seen;
    for (const SourceKindEntry* entry : source_kinds()) {
        EXPECT_TRUE(seen.insert(entry->kind).second) << source_kind_name(entry->kind);
        EXPECT_EQ(&source_kind_entry(entry->kind), entry);
        EXPECT_NE(entry->plan_configured, nullptr);
        EXPECT_NE(entry->describe, nullptr);
        EXPECT_NE(entry->disruption_signal, nullptr);
        EXPECT_NE(std::string(entry->missing_hint), "");
        // Only "auto" is never a source itself.
        EXPECT_EQ(entry->open == nullptr, entry->kind == SourceKind::automatic);
    }
    EXPECT_EQ(seen.size(), kSourceKindNames.size());
    for (const auto& k : kSourceKindNames) {
        EXPECT_TRUE(seen.count(k.kind)) << k.name;
        EXPECT_EQ(parse_source_kind(k.name), k.kind);
        EXPECT_EQ(source_kind_name(k.kind), k.name);
    }
}

TEST(SourceKinds, TheConfigAndStatusNamesAreUnchanged) {
    EXPECT_EQ(source_kind_names(), (std::vector<std::string_view>{"auto", "ptp", "vmclock"}));
    EXPECT_EQ(parse_source_kind("PTP"), std::nullopt);
    EXPECT_EQ(parse_source_kind(""), std::nullopt);
    EXPECT_EQ(parse_source_kind("none"), std::nullopt);
}

TEST(SourcePlanByKind, AutoTakesTheKvmPhcAndNamesIt) {
    FakeSysfsTree tree;
    tree.add_phc(0, "KVM virtual PTP");
    const SourcePlan plan = plan_sources(config_over(tree, SourceKind::automatic));
    ASSERT_EQ(plan.type, SourceKind::ptp);
    EXPECT_TRUE(plan.usable());
    EXPECT_EQ(plan.time_source_text(), "ptp " + tree.dev_root() + "/ptp0 (KVM virtual PTP)");
    EXPECT_EQ(plan.disruption_signal_text(), "data detectors (step, suspend, frequency)");
    EXPECT_EQ(plan.found.chosen_phc, 0);
    EXPECT_TRUE(plan.configured.empty());
    EXPECT_TRUE(contains(plan.reason, "no vmclock page: disruptions are detected from the data"))
        << plan.reason;
}

TEST(SourcePlanByKind, AutoTakesAFullVmclockPageWhenThereIsNoPhc) {
    test::TestPage page;
    page.anchor(0);
    page.write();
    FakeSysfsTree tree;
    Config config = config_over(tree, SourceKind::automatic);
    config.disruption.vmclock = page.path();
    const SourcePlan plan = plan_sources(config);
    ASSERT_EQ(plan.type, SourceKind::vmclock);
    EXPECT_EQ(plan.time_source_text(), "vmclock " + page.path());
    EXPECT_EQ(plan.disruption_signal_text(), "the same vmclock page");
    EXPECT_EQ(plan.found.chosen_phc, -1);
    // ptp only: the same page is never the time source.
    config.source.type = SourceKind::ptp;
    const SourcePlan ptp_only = plan_sources(config);
    EXPECT_FALSE(ptp_only.type);
    EXPECT_EQ(ptp_only.configured, "[source] type = \"ptp\" (path: the best PHC found)");
    EXPECT_EQ(ptp_only.reason.rfind("no usable PTP clock: ", 0), 0u) << ptp_only.reason;
    EXPECT_EQ(ptp_only.time_source_text(), "none");
}

TEST(SourcePlanByKind, NothingFoundSaysWhyAndGivesTheAutoHint) {
    FakeSysfsTree tree;
    tree.add_phc(0, "igb");  // a NIC's PHC: never taken unasked
    const SourcePlan plan = plan_sources(config_over(tree, SourceKind::automatic));
    EXPECT_FALSE(plan.type);
    EXPECT_FALSE(plan.usable());
    EXPECT_TRUE(contains(plan.reason, "is not a VM host clock")) << plan.reason;
    EXPECT_TRUE(contains(source_kind_entry(SourceKind::automatic).missing_hint, "modprobe"));
    auto opened = open_sources(config_over(tree, SourceKind::automatic));
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().message.rfind("no time source found: ", 0), 0u);
}

TEST(SourcePlanByKind, ConfiguredDevicesThatAreMissingNameTheProblem) {
    FakeSysfsTree tree;
    Config config = config_over(tree, SourceKind::vmclock);
    config.source.path = tree.dev_root() + "/vmclock9";
    SourcePlan plan = plan_sources(config);
    ASSERT_EQ(plan.type, SourceKind::vmclock);
    EXPECT_EQ(plan.problem, config.source.path + " does not exist");
    EXPECT_EQ(plan.configured,
              "[source] type = \"vmclock\", path = \"" + config.source.path + "\"");

    config.source.type = SourceKind::ptp;
    config.source.path = tree.dev_root() + "/ptp7";
    plan = plan_sources(config);
    ASSERT_EQ(plan.type, SourceKind::ptp);
    EXPECT_EQ(plan.problem, config.source.path + ": No such file or directory");
    EXPECT_EQ(plan.reason, "the configuration names this PHC");
    auto opened = open_sources(config);
    ASSERT_FALSE(opened);
    EXPECT_TRUE(contains(opened.error().message, config.source.path)) << opened.error().message;
}

}  // namespace
}  // namespace vmrefclock

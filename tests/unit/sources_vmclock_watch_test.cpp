// The page watch's cheap check (host_signals_changed, read_signals): it tells a change of
// the disruption signals (marker, generation, status, flags) from the last full read, and
// nothing else, so the daemon reads clocks and the whole page only when one changed.
#include <gtest/gtest.h>

#include <functional>

#include "sources/vmclock/vmclock_source.h"
#include "tests/support/test_page.h"

namespace vmrefclock {
namespace {

using test::TestPage;

struct Change {
    const char* what;
    std::function<void(vmclock::Abi&)> apply;
    bool is_signal;
};

const Change kChanges[] = {
    {"disruption_marker", [](vmclock::Abi& a) { ++a.disruption_marker; }, true},
    {"vm_generation_counter", [](vmclock::Abi& a) { ++a.vm_generation_counter; }, true},
    {"clock_status", [](vmclock::Abi& a) { a.clock_status = 4; }, true},
    {"flags", [](vmclock::Abi& a) { a.flags |= vmclock::kFlagDisruptionSoon; }, true},
    {"time_sec", [](vmclock::Abi& a) { a.time_sec += 1; }, false},
    {"seq_count", [](vmclock::Abi& a) { a.seq_count += 2; }, false},
    {"time_maxerror_nanosec", [](vmclock::Abi& a) { a.time_maxerror_nanosec += 1; }, false},
};

TEST(PageWatch, SourceSeesOnlySignalChangesSinceItsLastPoll) {
    for (const Change& change : kChanges) {
        TestPage page;
        page.anchor(1'000);
        page.write();
        auto source = VmclockSource::open(page.path());
        ASSERT_TRUE(source) << source.error().message;
        EXPECT_TRUE((*source)->host_signals_changed()) << "before any poll: unknown";
        Batch batch;
        ASSERT_TRUE((*source)->poll_into(3, batch));
        EXPECT_FALSE((*source)->host_signals_changed()) << change.what;
        change.apply(page.abi());
        page.write();
        EXPECT_EQ((*source)->host_signals_changed(), change.is_signal) << change.what;
        ASSERT_TRUE((*source)->poll_into(3, batch));
        EXPECT_FALSE((*source)->host_signals_changed()) << change.what << ", after a poll";
    }
}

TEST(PageWatch, SignalSeesOnlySignalChangesSinceItsLastRead) {
    for (const Change& change : kChanges) {
        TestPage page;
        page.anchor(1'000);
        page.write();
        auto signal = VmclockSignal::open(page.path());
        ASSERT_TRUE(signal) << signal.error().message;
        EXPECT_TRUE((*signal)->host_signals_changed()) << "before any read: unknown";
        ASSERT_TRUE((*signal)->read_host());
        EXPECT_FALSE((*signal)->host_signals_changed()) << change.what;
        change.apply(page.abi());
        page.write();
        EXPECT_EQ((*signal)->host_signals_changed(), change.is_signal) << change.what;
        ASSERT_TRUE((*signal)->read_host());
        EXPECT_FALSE((*signal)->host_signals_changed()) << change.what << ", after a read";
    }
}

TEST(PageWatch, AGenerationWithoutItsFlagOrBeyondTheFileIsNoSignal) {
    TestPage page;
    page.abi().flags &= ~vmclock::kFlagVmGenCounterPresent;
    page.anchor(1'000);
    page.write();
    auto signal = VmclockSignal::open(page.path());
    ASSERT_TRUE(signal) << signal.error().message;
    ASSERT_TRUE((*signal)->read_host());
    ++page.abi().vm_generation_counter;
    page.write();
    EXPECT_FALSE((*signal)->host_signals_changed()) << "flag unset";

    // A 104-byte page has no generation field: what lies beyond it is not read.
    page.abi().flags |= vmclock::kFlagVmGenCounterPresent;
    page.abi().size = vmclock::kSizeWithMaxerror;
    page.write(vmclock::kSizeWithMaxerror);
    ASSERT_TRUE((*signal)->read_host());
    EXPECT_FALSE((*signal)->host_signals_changed());
    ++page.abi().disruption_marker;
    page.write(vmclock::kSizeWithMaxerror);
    EXPECT_TRUE((*signal)->host_signals_changed());
}

TEST(PageWatch, AnUnreadablePageCountsAsChanged) {
    TestPage page;
    page.anchor(1'000);
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_TRUE(source) << source.error().message;
    Batch batch;
    ASSERT_TRUE((*source)->poll_into(2, batch));
    ASSERT_FALSE((*source)->host_signals_changed());
    page.write(20);  // truncated: the full read says what is wrong
    EXPECT_TRUE((*source)->host_signals_changed());
}

}  // namespace
}  // namespace vmrefclock

// Steady polls allocate nothing (issue 11, item 6): source -> the daemon's default filter,
// 1000 polls after a warm-up, every heap allocation counted by a replacement global
// operator new. Sources: a vmclock page file (the real reader, real clocks) and the fake
// PTP device (every method). Readings per poll: the default (10) and the most the config
// allows (100; PTP clamps to 25).
#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "filter/sample_filter.h"
#include "sources/ptp/ptp_source.h"
#include "sources/vmclock/vmclock_source.h"
#include "tests/sim/fakes/fake_ptp.h"
#include "tests/support/counting_new.h"
#include "tests/support/test_page.h"

namespace vmrefclock {
namespace {

constexpr int kDefaultReadings = 10;  // config's default ([source] readings)
constexpr int kMaxReadings = 100;     // the most config accepts
// Past every history the filter fills: its 256-sample window, the 16-poll prediction
// horizon and the 640-reading delay history.
constexpr int kWarmupPolls = 400;
constexpr int kCountedPolls = 1000;

struct Count {
    long allocations = 0;
    int failed_polls = 0;     // source errors
    int rejected_polls = 0;   // filter errors (their message is an allocation)
    std::string last_reason;  // of the last failure, for the report
};

// `poll_once(batch)` takes one batch into the reused `batch`; the default filter then
// makes a sample of it, as the daemon's poll does.
template <typename PollOnce>
Count count_steady_polls(PollOnce poll_once) {
    auto filter = make_default_filter();
    Batch batch;
    Count count;
    for (int i = 0; i < kWarmupPolls + kCountedPolls; ++i) {
        const bool counted = i >= kWarmupPolls;
        g_counting.store(counted, std::memory_order_relaxed);
        Status polled = poll_once(batch);
        Result<Sample> sample = polled ? filter->process(batch) : Result<Sample>(polled.error());
        g_counting.store(false, std::memory_order_relaxed);
        if (!counted) continue;
        if (!polled) {
            ++count.failed_polls;
            count.last_reason = polled.error().message;
        } else if (!sample) {
            ++count.rejected_polls;
            count.last_reason = sample.error().message;
        }
    }
    count.allocations = g_allocations.exchange(0);
    return count;
}

void expect_no_allocation(const Count& count, const std::string& what) {
    // The polls must be steady ones for the count to mean anything.
    EXPECT_EQ(count.failed_polls, 0) << what << ": " << count.last_reason;
    EXPECT_EQ(count.rejected_polls, 0) << what << ": " << count.last_reason;
    EXPECT_EQ(count.allocations, 0)
        << what << ": heap allocations in " << kCountedPolls << " steady polls";
    std::printf("%s: %ld allocations in %d steady polls\n", what.c_str(), count.allocations,
                kCountedPolls);
}

TEST(PollAllocations, CounterSeesAllocations) {
    // The counter itself works: without it the zero below would prove nothing.
    g_allocations = 0;
    g_counting = true;
    auto* v = new std::string(100, 'x');
    g_counting = false;
    delete v;
    EXPECT_GE(g_allocations.exchange(0), 1);
}

TEST(PollAllocations, VmclockPageToDefaultFilter) {
    test::TestPage page;
    page.anchor(250'000);
    page.write();
    for (int readings : {kDefaultReadings, kMaxReadings}) {
        auto source = VmclockSource::open(page.path());
        ASSERT_TRUE(source) << source.error().message;
        const Count count = count_steady_polls([&](Batch& batch) {
            // A millisecond apart: the filter sees time pass, the test stays short.
            timespec ms{0, 1'000'000};
            nanosleep(&ms, nullptr);
            return (*source)->poll_into(readings, batch);
        });
        expect_no_allocation(count, "vmclock page, " + std::to_string(readings) + " readings");
    }
}

TEST(PollAllocations, FakePtpDeviceToDefaultFilter) {
    const std::pair<const char*, fake::FakePtpProfile> profiles[] = {
        {"basic", fake::FakePtpProfile::kvm_on_tsc()},
        {"extended", fake::FakePtpProfile::old_kernel()},
        {"precise", fake::FakePtpProfile::kvm_on_kvm_clock()},
    };
    for (const auto& [method, profile] : profiles) {
        for (int readings : {kDefaultReadings, kMaxReadings}) {
            auto clock = std::make_shared<fake::FakeSystemClock>();
            auto device = std::make_shared<fake::FakePtpDeviceIo>(profile, clock);
            device->host().set_offset_ns(37'000.0, clock->now_ns());
            device->host().set_frequency_ppm(3.0, clock->now_ns());
            PtpSourceOptions options;
            options.path = "/dev/ptp0";
            auto source = PtpSource::open(device, options);
            ASSERT_TRUE(source) << source.error().message;
            ASSERT_STREQ(to_string((*source)->method()), method);
            const Count count = count_steady_polls([&](Batch& batch) {
                clock->advance(500'000'000);  // the default interval
                device->clear_calls();        // the fake's call log keeps its capacity
                return (*source)->poll_into(readings, batch);
            });
            expect_no_allocation(count, std::string("ptp ") + method + ", " +
                                            std::to_string(readings) + " readings");
        }
    }
}

}  // namespace
}  // namespace vmrefclock

// The pipeline against a hostile host: a real page file read through VmclockSource with the
// real clocks (and short hold-off and probation), and scripted PHC-like sources.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <functional>

#include "daemon/pipeline.h"
#include "sources/system_clock.h"
#include "sources/vmclock/vmclock_source.h"
#include "tests/sim/lab/basic_filter.h"
#include "tests/support/fake_sinks.h"
#include "tests/support/test_page.h"

namespace vmrefclock {
namespace {

using test::TestPage;

constexpr int64_t kOffsetNs = 250'000;

using test::RecordingControl;
using test::RecordingSink;

PollClocks read_clocks() {
    PollClocks c;
    c.mono_ns = read_clock_ns(CLOCK_MONOTONIC);
    c.boottime_ns = read_clock_ns(CLOCK_BOOTTIME);
    c.mono_after_ns = read_clock_ns(CLOCK_MONOTONIC);
    c.real_ns = read_clock_ns(CLOCK_REALTIME);
    c.raw_ns = read_clock_ns(CLOCK_MONOTONIC_RAW);
    return c;
}

// A page with the daemon's default filter, polled every 2 ms: a hold-off of 2^-6 s and a
// probation of 0.3 s keep the whole story under a second or two.
class PagePipeline : public ::testing::Test {
  protected:
    void SetUp() override {
        page.anchor(kOffsetNs);
        page.write();
        config.chrony.poll = -6;
        config.disruption.step_probation_s = 0.3;
        SourceSet sources;
        sources.type = SourceKind::vmclock;
        auto source = VmclockSource::open(page.path());
        ASSERT_TRUE(source) << source.error().message;
        sources.time = std::move(*source);
        pipeline = std::make_unique<Pipeline>(config, std::move(sources),
                                              std::move(*lab::make_sample_filter("robust")),
                                              std::vector<Sink*>{&sink}, control);
    }
    // Each poll, then chronyc's answer to any reset it asked for (the daemon hands it
    // over from its event loop; here within the same poll).
    void poll(int n = 1) {
        for (int i = 0; i < n; ++i) {
            pipeline->poll(read_clocks());
            if (control.resets.size() > resets_answered) {
                resets_answered = control.resets.size();
                pipeline->chrony_reset_done(true, read_clocks().mono_ns);
            }
            usleep(2'000);
        }
    }
    // Polls until `done` or `limit` polls; how many it took (limit + 1: never).
    int poll_until(const std::function<bool()>& done, int limit) {
        for (int i = 1; i <= limit; ++i) {
            poll();
            if (done()) return i;
        }
        return limit + 1;
    }
    // Every sample sent since `from` is within `tolerance_ns` of `offset_ns`.
    void expect_sent_near(size_t from, double offset_ns, double tolerance_ns) {
        for (size_t i = from; i < sink.sent.size(); ++i) {
            EXPECT_NEAR(sink.sent[i].offset_ns, offset_ns, tolerance_ns) << "sample " << i;
        }
    }
    uint64_t disruptions() const { return pipeline->disruptions().count; }

    TestPage page;
    Config config;
    RecordingSink sink;
    RecordingControl control;
    size_t resets_answered = 0;
    std::unique_ptr<Pipeline> pipeline;
};

TEST_F(PagePipeline, ThousandPollsOfACleanPageRaiseNothing) {
    poll(1000);
    EXPECT_EQ(disruptions(), 0u) << pipeline->reason();
    EXPECT_GE(sink.sent.size(), 990u);  // the filter may hold back the odd preempted poll
    EXPECT_EQ(pipeline->state(), DaemonState::ok);
    // The page's period is the test's 50-ms measurement of the counter, good to ~1e-5:
    // the host drifts from the guest by up to a few ppm, 10 us over these seconds.
    expect_sent_near(0, kOffsetNs, 100'000);
}

TEST_F(PagePipeline, StepWithoutMarkerIsOneDisruptionAndFollowedAfterProbation) {
    poll(100);
    ASSERT_EQ(disruptions(), 0u);
    const size_t before = sink.sent.size();
    page.anchor(kOffsetNs + 4'500'000);  // the KVM master-clock step: same marker
    page.write();
    poll(3);
    EXPECT_EQ(disruptions(), 1u);
    EXPECT_EQ(pipeline->disruptions().last_cause, Disruption::Cause::step);
    EXPECT_EQ(control.resets.size(), 1u);
    EXPECT_NE(pipeline->state(), DaemonState::ok);
    // Held on probation: nothing of the new clock is sent until it has held for 0.3 s.
    const int polls = poll_until([&] { return sink.sent.size() > before; }, 1000);
    EXPECT_LE(polls, 1000);
    EXPECT_EQ(disruptions(), 1u);
    EXPECT_EQ(control.resets.size(), 1u);  // one: it empties chrony's refclock filter too
    // holdoff while chrony has its 3 polls (2^-6 s each) to select the new clock.
    EXPECT_LE(poll_until([&] { return pipeline->state() == DaemonState::ok; }, 100), 100)
        << pipeline->reason();
    expect_sent_near(before, kOffsetNs + 4'500'000, 50'000);
}

TEST_F(PagePipeline, TransientStepIsOneDisruptionAndNeverReachesChrony) {
    poll(100);
    const size_t before = sink.sent.size();
    for (int64_t jump : {int64_t{4'500'000}, int64_t{524'000'000'000}, -int64_t{524'000'000'000}}) {
        const uint64_t disruptions_before = disruptions();
        page.anchor(kOffsetNs + jump);
        page.write();
        poll(20);  // well inside the probation
        EXPECT_EQ(disruptions(), disruptions_before + 1) << jump;
        EXPECT_NE(pipeline->state(), DaemonState::ok) << pipeline->reason();
        page.anchor(kOffsetNs);
        page.write();
        const size_t sent = sink.sent.size();
        EXPECT_LE(poll_until([&] { return sink.sent.size() > sent; }, 100), 100) << jump;
        EXPECT_EQ(disruptions(), disruptions_before + 1) << jump;  // the return is none
        EXPECT_LE(poll_until([&] { return pipeline->state() == DaemonState::ok; }, 100), 100)
            << pipeline->reason();
        poll(30);  // a model again, for the next jump to be judged against
    }
    expect_sent_near(before, kOffsetNs, 50'000);
}

struct Hostile {
    const char* name;
    std::function<void(TestPage&)> corrupt;
    DaemonState state;
    const char* reason;  // in the status reason
};

TEST_F(PagePipeline, HostileValuesNeverReachChronyAndAValidPageIsFedAgain) {
    const std::vector<Hostile> cases = {
        {"time_sec = 0", [](TestPage& p) { p.abi().time_sec = 0; }, DaemonState::unusable,
         "implausible host time (calendar)"},
        {"time_sec = 9223372035",
         [](TestPage& p) {
             p.abi().time_sec = 9223372035;
             p.abi().time_frac_sec = 0;
         },
         DaemonState::unusable, "calendar"},
        {"counter_period_frac_sec = 2^64-1",
         [](TestPage& p) { p.abi().counter_period_frac_sec = UINT64_MAX; }, DaemonState::unusable,
         "implausible host time (counter-rate)"},
        {"counter_period_shift = 63", [](TestPage& p) { p.abi().counter_period_shift = 63; },
         DaemonState::unusable, "implausible host time (counter-rate)"},
        {"period 2 % slow", [](TestPage& p) { p.anchor(kOffsetNs, 0.98); }, DaemonState::unusable,
         "counter-rate"},
        {"bad magic", [](TestPage& p) { p.abi().magic = 0x4b4c4357; }, DaemonState::no_source,
         "bad magic"},
        {"bad version", [](TestPage& p) { p.abi().version = 2; }, DaemonState::no_source,
         "unsupported version 2"},
        {"bad size", [](TestPage& p) { p.abi().size = 64; }, DaemonState::no_source,
         "size field 64"},
    };
    poll(100);
    const vmclock::Abi good = page.abi();
    for (const Hostile& h : cases) {
        SCOPED_TRACE(h.name);
        const size_t sent = sink.sent.size();
        h.corrupt(page);
        page.write();
        poll(20);
        EXPECT_EQ(sink.sent.size(), sent);
        EXPECT_EQ(pipeline->state(), h.state) << pipeline->reason();
        EXPECT_NE(pipeline->reason().find(h.reason), std::string::npos) << pipeline->reason();
        page.abi() = good;
        page.anchor(kOffsetNs);
        page.write();
        EXPECT_LE(poll_until([&] { return sink.sent.size() > sent; }, 20), 20);
        EXPECT_EQ(pipeline->state(), DaemonState::ok) << pipeline->reason();
    }
    EXPECT_EQ(disruptions(), 0u);
    expect_sent_near(0, kOffsetNs, 50'000);
}

TEST_F(PagePipeline, TruncatedReplacedDeletedAndFifoAreStatesNotCrashes) {
    poll(50);
    const auto check = [&](const char* what, const std::function<void()>& corrupt,
                           const char* reason) {
        SCOPED_TRACE(what);
        const size_t sent = sink.sent.size();
        corrupt();
        poll();
        EXPECT_EQ(pipeline->state(), DaemonState::no_source);
        EXPECT_NE(pipeline->reason().find(reason), std::string::npos) << pipeline->reason();
        EXPECT_EQ(sink.sent.size(), sent);
        unlink(page.path().c_str());
        page.write();
        EXPECT_LE(poll_until([&] { return sink.sent.size() > sent; }, 20), 20);
        EXPECT_EQ(pipeline->state(), DaemonState::ok) << pipeline->reason();
    };
    check(
        "truncated", [&] { page.write(0); }, "truncated: file is 0 bytes");
    check(
        "deleted", [&] { unlink(page.path().c_str()); }, "no longer exists (deleted)");
    check(
        "FIFO",
        [&] {
            unlink(page.path().c_str());
            mkfifo(page.path().c_str(), 0644);
        },
        "is a FIFO");
    // Replaced by a valid page: re-opened without a gap.
    const size_t sent = sink.sent.size();
    page.replace();
    poll();
    EXPECT_EQ(sink.sent.size(), sent + 1);
    EXPECT_EQ(pipeline->state(), DaemonState::ok) << pipeline->reason();
    EXPECT_EQ(disruptions(), 0u);
}

}  // namespace
}  // namespace vmrefclock

// The pipeline's disruption response, with a scripted source and recording sink/control.
#include <gtest/gtest.h>

#include <deque>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "daemon/pipeline.h"
#include "ipc/chrony/chrony_sock.h"
#include "tests/sim/lab/basic_filter.h"
#include "tests/support/fake_sinks.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStartReal = 1'790'000'000 * kSecond;

struct HostClock {
    int64_t offset_ns = 250'000;
    uint64_t marker = 1;
    ClockStatus status = ClockStatus::synchronized;
    std::string unusable;
    bool fail = false;
    bool publishes_host = true;  // false: a PHC, which has no vmclock page of its own
    double freq_ppm = 0;         // the host clock's rate against the system clock
};

class ScriptedSource : public Source {
  public:
    explicit ScriptedSource(HostClock& host, int64_t& now_real)
        : host_(host), now_real_(now_real) {}
    Result<Batch> poll(int readings) override {
        if (host_.fail) return make_error("device gone", 19);
        Batch b;
        if (host_.publishes_host) {
            b.host = HostInfo{};
            b.host->disruption_marker = host_.marker;
            b.host->clock_status = host_.status;
        }
        b.unusable_reason = host_.unusable;
        if (host_.unusable.empty()) {
            for (int i = 0; i < readings; ++i) {
                int64_t pre = now_real_ + i * 1000;
                const double drift_ns =
                    host_.freq_ppm * 1e-6 * static_cast<double>(pre - kStartReal);
                b.readings.push_back(
                    {pre, pre + 50 + host_.offset_ns + static_cast<int64_t>(drift_ns), pre + 100});
            }
        }
        return b;
    }
    std::string describe() const override { return "scripted"; }

  private:
    HostClock& host_;
    int64_t& now_real_;
};

using test::RecordingControl;
using test::RecordingSink;

class PipelineTest : public ::testing::Test {
  protected:
    PipelineTest() { build(false); }
    // A PHC with no vmclock page: disruptions must be found in the data.
    void build(bool phc_without_page, const std::string& filter = "basic") {
        host.publishes_host = !phc_without_page;
        config.chrony.poll = 2;  // 4-s refclock polls
        config.source.readings = 5;
        SourceSet sources;
        sources.type = phc_without_page ? SourceKind::ptp : SourceKind::vmclock;
        sources.time = std::make_unique<ScriptedSource>(host, now_real);
        sources.data_detectors = phc_without_page;
        pipeline = std::make_unique<Pipeline>(config, std::move(sources),
                                              std::move(*lab::make_sample_filter(filter)),
                                              std::vector<Sink*>{&sink}, control);
    }
    // One poll every 0.5 s of both clocks.
    void poll() {
        pipeline->poll({now_mono, now_mono, now_mono, now_real});
        now_mono += kSecond / 2;
        now_real += kSecond / 2;
    }

    Config config;
    HostClock host;
    int64_t now_mono = 100 * kSecond;
    int64_t now_real = kStartReal;
    RecordingSink sink;
    RecordingControl control;
    std::unique_ptr<Pipeline> pipeline;
};

TEST_F(PipelineTest, FeedsTheHostOffset) {
    EXPECT_EQ(pipeline->state(), DaemonState::starting);
    for (int i = 0; i < 4; ++i) poll();
    // The first sample goes out as a burst (chrony 4.3's first refclock poll needs 4).
    ASSERT_EQ(sink.sent.size(), HoldOff::kBurstSamples + 3u);
    for (int k = 1; k < HoldOff::kBurstSamples; ++k) {
        EXPECT_EQ(sink.sent[k].time_ns - sink.sent[k - 1].time_ns, 1000) << k;
    }
    EXPECT_NEAR(sink.sent.back().offset_ns, 250'000, 1);
    EXPECT_EQ(pipeline->state(), DaemonState::ok);
    EXPECT_EQ(pipeline->samples_sent(), 4u);
    EXPECT_TRUE(control.resets.empty());
    // 8 samples per 4-s refclock poll while chrony selects the source, then as configured.
    EXPECT_EQ(pipeline->sampling_interval_ns(kSecond), kSecond / 2);
    for (int i = 0; i < 30; ++i) poll();
    EXPECT_EQ(pipeline->sampling_interval_ns(kSecond), kSecond);
}

TEST_F(PipelineTest, MarkerChangeResetsChronyThenBurstsTheNewClockOnceTheResetIsDone) {
    for (int i = 0; i < 4; ++i) poll();
    const size_t before = sink.sent.size();
    host.marker = 2;
    host.offset_ns += 2'000'000;  // the clock stepped with the migration
    poll();
    EXPECT_EQ(pipeline->state(), DaemonState::holdoff);
    ASSERT_EQ(control.resets.size(), 1u);
    EXPECT_EQ(pipeline->disruptions().count, 1u);
    EXPECT_EQ(pipeline->disruptions().last_cause, Disruption::Cause::marker);
    // Nothing reaches chrony while its reset runs: the reset would drop it.
    poll();
    EXPECT_EQ(sink.sent.size(), before);
    ASSERT_FALSE(pipeline->recent().back().sent);
    // The reset is done: the newest sample of the new clock goes out at once, as a burst.
    pipeline->chrony_reset_done(true, now_mono);
    ASSERT_EQ(sink.sent.size(), before + HoldOff::kBurstSamples);
    for (size_t i = before; i < sink.sent.size(); ++i) {
        EXPECT_NEAR(sink.sent[i].offset_ns, 2'250'000, 1);
    }
    EXPECT_EQ(control.resets.size(), 1u);  // one reset: it emptied chrony's filter too
    EXPECT_EQ(pipeline->state(), DaemonState::holdoff);  // chrony is still selecting
    for (int i = 0; i < 4; ++i) poll();
    for (size_t i = before; i < sink.sent.size(); ++i) {
        EXPECT_NEAR(sink.sent[i].offset_ns, 2'250'000, 1);
    }
    // Back to ok once chrony has had its 3 refclock polls (13 s).
    for (int i = 0; i < 24; ++i) poll();
    EXPECT_EQ(pipeline->state(), DaemonState::ok);
    // The window holds only post-disruption samples.
    ASSERT_TRUE(pipeline->estimate());
    EXPECT_NEAR(pipeline->estimate()->offset_ns, 2'250'000, 1);
    // A late or repeated completion changes nothing.
    const size_t sent = sink.sent.size();
    pipeline->chrony_reset_done(true, now_mono);
    EXPECT_EQ(sink.sent.size(), sent);
}

TEST_F(PipelineTest, ResetDoneBeforeANewSampleBurstsTheNextOne) {
    for (int i = 0; i < 4; ++i) poll();
    const size_t before = sink.sent.size();
    pipeline->disrupt({Disruption::Cause::manual, "operator"}, now_mono, now_real);
    ASSERT_EQ(control.resets.size(), 1u);
    pipeline->chrony_reset_done(false, now_mono);  // failed: the daemon goes on all the same
    EXPECT_EQ(sink.sent.size(), before);           // no sample of the new clock yet
    poll();
    EXPECT_EQ(sink.sent.size(), before + HoldOff::kBurstSamples);
}

TEST_F(PipelineTest, WatchFindsAMarkerChangeBetweenPolls) {
    EXPECT_FALSE(pipeline->can_watch());  // nothing known about the source yet
    for (int i = 0; i < 4; ++i) poll();
    ASSERT_TRUE(pipeline->can_watch());
    const PollClocks clocks{now_mono, now_mono, now_mono, now_real};
    EXPECT_FALSE(pipeline->watch(clocks));
    EXPECT_TRUE(control.resets.empty());
    host.marker = 7;
    EXPECT_TRUE(pipeline->watch(clocks));
    EXPECT_EQ(control.resets.size(), 1u);
    EXPECT_EQ(pipeline->state(), DaemonState::holdoff);
    EXPECT_FALSE(pipeline->watch(clocks));  // the same marker again: nothing
    EXPECT_EQ(pipeline->disruptions().count, 1u);
}

TEST_F(PipelineTest, UnreliableHostStopsFeeding) {
    for (int i = 0; i < 2; ++i) poll();
    host.status = ClockStatus::unreliable;
    const size_t before = sink.sent.size();
    for (int i = 0; i < 3; ++i) poll();
    EXPECT_EQ(sink.sent.size(), before);
    EXPECT_EQ(pipeline->state(), DaemonState::unusable);
    EXPECT_EQ(pipeline->disruptions().count, 1u);
}

TEST_F(PipelineTest, UnusablePageAndMissingDeviceAreStatesNotCrashes) {
    host.unusable = "marker-only page";
    poll();
    EXPECT_EQ(pipeline->state(), DaemonState::unusable);
    EXPECT_EQ(pipeline->reason(), "marker-only page");
    host.unusable.clear();
    host.fail = true;
    poll();
    EXPECT_EQ(pipeline->state(), DaemonState::no_source);
    EXPECT_NE(pipeline->reason().find("device gone"), std::string::npos);
    EXPECT_TRUE(sink.sent.empty());
    host.fail = false;
    poll();
    EXPECT_EQ(pipeline->state(), DaemonState::ok);
}

TEST_F(PipelineTest, ChronyDownIsDegraded) {
    sink.down = true;
    poll();
    EXPECT_EQ(pipeline->state(), DaemonState::degraded);
    EXPECT_NE(pipeline->reason().find("chrony"), std::string::npos);
    sink.down = false;
    poll();
    EXPECT_EQ(pipeline->state(), DaemonState::ok);
}

// Captures what the pipeline logs, one line per message.
class CapturedLog {
  public:
    CapturedLog() {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        sink->set_pattern("%l: %v");
        previous_ = spdlog::default_logger();
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
    }
    ~CapturedLog() { spdlog::set_default_logger(previous_); }
    int count(const std::string& prefix) const {
        std::istringstream in(out_.str());
        int n = 0;
        for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0;
        return n;
    }
    std::string text() const { return out_.str(); }

  private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

// chronyd absent for 20 s, with the real sink and its back-off: one warning, not one per
// poll or per change of the back-off's wait.
TEST_F(PipelineTest, AbsentChronydCostsOneWarning) {
    test::TempDir dir("vmr-pipe");
    ChronySockSink chrony(dir.file("absent.sock"), 4 * kSecond);
    SourceSet sources;
    sources.type = SourceKind::vmclock;
    sources.time = std::make_unique<ScriptedSource>(host, now_real);
    pipeline = std::make_unique<Pipeline>(config, std::move(sources),
                                          std::move(*lab::make_sample_filter("basic")),
                                          std::vector<Sink*>{&chrony}, control);
    CapturedLog log;
    for (int i = 0; i < 40; ++i) poll();
    EXPECT_EQ(pipeline->state(), DaemonState::degraded);
    EXPECT_EQ(log.count("warning:"), 1) << log.text();
    std::printf("%d warning(s) in 20 s without chronyd:\n%s", log.count("warning:"),
                log.text().c_str());
}

// A feed that breaks and recovers every other poll for 150 s: one warning a minute, each
// after the first saying how many were held back, and a recovery line only after a
// warning that was logged.
TEST_F(PipelineTest, FlappingFeedIsLoggedOnceAMinute) {
    for (int i = 0; i < 2; ++i) poll();
    CapturedLog log;
    for (int i = 0; i < 300; ++i) {
        sink.down = i % 2 == 0;
        poll();
    }
    EXPECT_EQ(log.count("warning: state degraded"), 3) << log.text();
    EXPECT_EQ(log.count("info: state ok"), 3) << log.text();
    EXPECT_NE(log.text().find("(59 more like it since the last report)"), std::string::npos)
        << log.text();
}

// The data detectors with each filter: the robust one confirms steps itself (and
// rejects the first off sample), the basic one leaves that to the step detector.
class PhcWithoutPage : public PipelineTest, public ::testing::WithParamInterface<std::string> {
  protected:
    PhcWithoutPage() { build(true, GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Filters, PhcWithoutPage, ::testing::ValuesIn(lab::sample_filter_names()),
                         [](const auto& info) { return info.param; });

TEST_P(PhcWithoutPage, DetectsAMasterClockStepFromTheDataWithinTwoPolls) {
    host.freq_ppm = 3;
    for (int i = 0; i < 40; ++i) poll();
    ASSERT_EQ(pipeline->disruptions().count, 0u);
    const size_t before = sink.sent.size();
    host.offset_ns += 4'500'000;  // KVM master clock update after ~40 h
    poll();
    poll();
    EXPECT_EQ(pipeline->disruptions().count, 1u);
    EXPECT_EQ(pipeline->disruptions().last_cause, Disruption::Cause::step);
    EXPECT_EQ(pipeline->state(), DaemonState::holdoff);
    EXPECT_EQ(control.resets.size(), 1u);
    // The stepped samples never reached chrony as if they were of the old clock.
    EXPECT_EQ(sink.sent.size(), before);
    pipeline->chrony_reset_done(true, now_mono);
    for (int i = 0; i < 12; ++i) poll();
    EXPECT_EQ(pipeline->disruptions().count, 1u);  // one event, one disruption
    EXPECT_EQ(control.resets.size(), 1u);
    // No marker announced it: the new clock is followed once it has held for the
    // probation (30 s), not at the end of the hold-off.
    EXPECT_EQ(sink.sent.size(), before);
    EXPECT_EQ(pipeline->state(), DaemonState::holdoff);
    for (int i = 0; i < 50; ++i) poll();
    EXPECT_EQ(pipeline->disruptions().count, 1u);
    EXPECT_EQ(control.resets.size(), 1u);
    ASSERT_GT(sink.sent.size(), before);
    EXPECT_NEAR(sink.sent.back().offset_ns -
                    3e-6 * static_cast<double>(sink.sent.back().time_ns - kStartReal),
                4'750'000, 100);
}

TEST_P(PhcWithoutPage, TakesASteadyClockQuietly) {
    host.freq_ppm = -20;
    for (int i = 0; i < 200; ++i) poll();
    EXPECT_EQ(pipeline->disruptions().count, 0u);
    EXPECT_EQ(sink.sent.size(), 200u + HoldOff::kBurstSamples - 1);
    EXPECT_EQ(pipeline->state(), DaemonState::ok);
}

}  // namespace
}  // namespace vmrefclock

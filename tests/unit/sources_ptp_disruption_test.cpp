// Disruptions without a marker, end to end: fake PTP device -> PtpSource -> the daemon's
// engine (filter, data detectors, gates, probation, hold-off), driven as the daemon's
// pipeline drives it: chrony's reset answered at once, every delivery taken.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "filter/engine.h"
#include "filter/sample_filter.h"
#include "sources/ptp/ptp_source.h"
#include "tests/sim/fakes/fake_ptp.h"

namespace vmrefclock {
namespace {

using fake::FakePtpDeviceIo;
using fake::FakePtpProfile;
using fake::FakeSystemClock;

constexpr int64_t kPollNs = 500'000'000;  // the default [source] interval, 0.5 s

struct Event {
    int poll;
    Disruption disruption;
};

class Pipeline {
  public:
    // With the daemon's filter.
    explicit Pipeline(FakePtpProfile profile, uint64_t seed = 7)
        : clock_(std::make_shared<FakeSystemClock>()),
          device_(std::make_shared<FakePtpDeviceIo>(std::move(profile), clock_, "/dev/ptp0", seed)),
          engine_(EngineOptions{}, make_default_filter()) {
        device_->host().set_offset_ns(37'000.0, clock_->now_ns());
        device_->host().set_frequency_ppm(3.0, clock_->now_ns());
        PtpSourceOptions options;
        options.path = "/dev/ptp0";
        auto source = PtpSource::open(device_, options);
        EXPECT_TRUE(source) << source.error().message;
        source_ = std::move(*source);
        start_real_ns_ = clock_->now_ns();
    }

    FakePtpDeviceIo& device() { return *device_; }
    FakeSystemClock& clock() { return *clock_; }
    PtpSource& source() { return *source_; }
    const std::vector<Event>& events() const { return events_; }
    int polls() const { return poll_; }
    void suspend_for(int64_t ns) { slept_ns_ += ns; }
    void set_readings(int readings) { readings_ = readings; }

    // One poll: the clocks (BOOTTIME jumps by a suspend; REALTIME keeps to MONOTONIC),
    // the batch, then what the daemon does with the outcome.
    void poll() {
        clock_->advance(kPollNs);
        const int64_t mono = kPollNs * poll_;
        PollClocks clocks;
        clocks.mono_ns = mono;
        clocks.boottime_ns = mono + slept_ns_ + 5'000'000'000;
        clocks.mono_after_ns = mono;
        clocks.real_ns = start_real_ns_ + mono;
        auto batch = source_->poll(readings_);
        ASSERT_TRUE(batch) << batch.error().message;
        carry_out(engine_.poll(clocks, *batch), mono);
        ++poll_;
    }
    void run(int polls) {
        for (int i = 0; i < polls; ++i) poll();
    }

  private:
    void carry_out(const Engine::Outcome& out, int64_t mono) {
        collect(out);
        if (out.copies > 0) collect(engine_.delivered(true, {}, mono));
        if (out.reset_chrony) {
            const Engine::Outcome& burst = engine_.chrony_reset_done(true);
            collect(burst);
            if (burst.copies > 0) collect(engine_.delivered(true, {}, mono));
        }
    }
    void collect(const Engine::Outcome& out) {
        for (size_t i = 0; i < out.event_count; ++i) {
            const EngineEvent& e = out.events[i];
            if (e.kind == EngineEvent::Kind::disruption)
                events_.push_back(Event{poll_, e.disruption});
        }
    }

    std::shared_ptr<FakeSystemClock> clock_;
    std::shared_ptr<FakePtpDeviceIo> device_;
    std::unique_ptr<PtpSource> source_;
    Engine engine_;
    std::vector<Event> events_;
    int64_t start_real_ns_ = 0;
    int poll_ = 0;
    int64_t slept_ns_ = 0;
    int readings_ = 10;
};

std::string describe(const std::vector<Event>& events) {
    std::string out;
    for (const Event& e : events) {
        out += "poll " + std::to_string(e.poll) + ": " + to_string(e.disruption.cause) + " " +
               e.disruption.detail + "\n";
    }
    return out;
}

class DisruptionByMethod : public ::testing::TestWithParam<const char*> {
  protected:
    FakePtpProfile profile() const {
        const std::string name = GetParam();
        if (name == "precise") return FakePtpProfile::kvm_on_kvm_clock();
        if (name == "extended") return FakePtpProfile::old_kernel();
        return FakePtpProfile::kvm_on_tsc();
    }
    void make_noisy(FakePtpDeviceIo& device) {
        device.delays().spike_probability = 0.05;
        device.delays().spike_max_ns = 200'000;
    }
};

TEST_P(DisruptionByMethod, MasterClockUpdateStepIsOneDisruptionWithinTwoPolls) {
    Pipeline p(profile());
    EXPECT_STREQ(to_string(p.source().method()), GetParam());
    make_noisy(p.device());
    p.run(100);
    ASSERT_TRUE(p.events().empty()) << describe(p.events());
    p.device().host().step(4'500'000);  // KVM master clock update after ~40 h
    const int step_poll = p.polls();
    p.run(300);
    ASSERT_EQ(p.events().size(), 1u) << describe(p.events());
    EXPECT_EQ(p.events()[0].disruption.cause, Disruption::Cause::step);
    EXPECT_LE(p.events()[0].poll, step_poll + 1);  // the poll of the step or the next one
}

TEST_P(DisruptionByMethod, MigrationStepPlusFrequencyIsOneDisruptionWithinTwoPolls) {
    Pipeline p(profile());
    make_noisy(p.device());
    p.run(100);
    ASSERT_TRUE(p.events().empty()) << describe(p.events());
    // Another host: its clock 1 ms off ours and running 50 ppm faster.
    p.device().host().step(1'000'000);
    p.device().host().set_frequency_ppm(53.0, p.clock().now_ns());
    const int migration_poll = p.polls();
    p.run(400);
    ASSERT_EQ(p.events().size(), 1u) << describe(p.events());
    EXPECT_LE(p.events()[0].poll, migration_poll + 1);
}

TEST_P(DisruptionByMethod, ThousandNoisyPollsRaiseNothing) {
    Pipeline p(profile(), /*seed=*/12345);
    p.device().delays().spike_probability = 0.10;
    p.device().delays().spike_max_ns = 200'000;
    p.device().delays().jitter_ns = 2'000;
    p.run(1000);
    EXPECT_TRUE(p.events().empty()) << describe(p.events());
}

INSTANTIATE_TEST_SUITE_P(Methods, DisruptionByMethod,
                         ::testing::Values("basic", "extended", "precise"),
                         [](const auto& info) { return std::string(info.param); });

TEST(DataDisruptionEndToEnd, BatchesFullOfPreemptionStillRaiseNothing) {
    // Every reading of a poll may be hit: a guest on a badly overcommitted host.
    Pipeline p(FakePtpProfile::kvm_on_tsc(), 99);
    p.device().delays().spike_probability = 0.6;
    p.device().delays().spike_max_ns = 200'000;
    p.run(1000);
    EXPECT_TRUE(p.events().empty()) << describe(p.events());
}

TEST(DataDisruptionEndToEnd, SingleReadingPollsWithPreemptionRaiseNothing) {
    // One reading per poll: nothing for the filter to choose from, every spike reaches
    // the detector, whose margin includes the sample's own error (half its delay).
    Pipeline p(FakePtpProfile::kvm_on_tsc(), 4242);
    p.set_readings(1);
    p.device().delays().spike_probability = 0.3;
    p.device().delays().spike_max_ns = 200'000;
    p.run(1000);
    EXPECT_TRUE(p.events().empty()) << describe(p.events());
}

TEST(DataDisruptionEndToEnd, SuspendIsOneDisruption) {
    Pipeline p(FakePtpProfile::kvm_on_tsc());
    p.run(50);
    p.suspend_for(30'000'000'000);
    p.run(100);
    ASSERT_EQ(p.events().size(), 1u) << describe(p.events());
    EXPECT_EQ(p.events()[0].disruption.cause, Disruption::Cause::suspend);
    EXPECT_EQ(p.events()[0].poll, 50);
}

TEST(DataDisruptionEndToEnd, LargeFrequencyChangeWithoutStepIsOneDisruption) {
    Pipeline p(FakePtpProfile::kvm_on_tsc());
    p.run(100);
    p.device().host().set_frequency_ppm(300.0, p.clock().now_ns());  // no TSC scaling
    const int change_poll = p.polls();
    p.run(300);
    ASSERT_EQ(p.events().size(), 1u) << describe(p.events());
    EXPECT_LE(p.events()[0].poll, change_poll + 10) << describe(p.events());
}

TEST(DataDisruptionEndToEnd, FrequencyChangeBeyondTheBoundIsOneDisruption) {
    for (double ppm : {65.0, 80.0, 120.0}) {
        Pipeline p(FakePtpProfile::kvm_on_tsc());
        p.run(100);
        p.device().host().set_frequency_ppm(ppm, p.clock().now_ns());
        p.run(400);
        ASSERT_EQ(p.events().size(), 1u) << ppm << " ppm\n" << describe(p.events());
        // The windowed fit needs part of its window to tilt: ~10-15 s at 0.5 s polls.
        EXPECT_LE(p.events()[0].poll, 100 + 30) << describe(p.events());
    }
}

TEST(DataDisruptionEndToEnd, LockedChronySteeringRaisesNothing) {
    // The offsets are against the guest's CLOCK_REALTIME, which the guest's chrony steers:
    // at every chrony update (4 s = 8 polls) the slope changes by a few ppm.
    Pipeline p(FakePtpProfile::kvm_on_tsc(), 31);
    p.device().delays().spike_probability = 0.05;
    uint64_t lcg = 1;
    for (int update = 0; update < 250; ++update) {
        lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
        const double ppm = 3.0 + static_cast<double>(lcg >> 40) / (1 << 24) * 8.0 - 4.0;
        p.device().host().set_frequency_ppm(ppm, p.clock().now_ns());
        p.run(8);
    }
    EXPECT_TRUE(p.events().empty()) << describe(p.events());
}

TEST(DataDisruptionEndToEnd, SmallHostStepIsLeftToTheFilter) {
    Pipeline p(FakePtpProfile::kvm_on_tsc());
    p.run(100);
    p.device().host().step(50'000);  // a host NTP step of 50 µs
    p.run(200);
    EXPECT_TRUE(p.events().empty()) << describe(p.events());
}

}  // namespace
}  // namespace vmrefclock

// The gates and the step guard in the pipeline, with a scripted source on simulated clocks:
// PHC readings get the same checks as a page; the guest's own clock steps and chrony's
// steering are no disruption.
#include <gtest/gtest.h>

#include <cmath>

#include "daemon/pipeline.h"
#include "tests/sim/lab/basic_filter.h"
#include "tests/support/fake_sinks.h"

namespace vmrefclock {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1'790'000'000 * kSecond;  // 2026

// The host's clock and the guest's CLOCK_REALTIME, over the guest's CLOCK_MONOTONIC.
struct World {
    int64_t mono = 100 * kSecond;
    int64_t guest_step_ns = 0;   // steps of the guest's CLOCK_REALTIME so far
    int64_t slew_ns = 0;         // chrony's slews so far: REALTIME and MONOTONIC, not RAW
    int64_t host_offset_ns = 0;  // host - guest at the start
    double host_ppm = 0;         // the host's rate against the guest's clock
    int64_t drift_ns = 0;        // what host_ppm has added up to
    double host_rate = 1.0;      // a PHC that runs at another rate altogether
    std::optional<int64_t> frozen_at;
    bool publishes_host = true;
    int readings = 10;

    int64_t elapsed() const { return mono - 100 * kSecond; }
    int64_t guest(int64_t e) const { return kStart + e + guest_step_ns + slew_ns; }
    int64_t host(int64_t e) const {
        if (frozen_at) return *frozen_at;
        return kStart + host_offset_ns + drift_ns +
               std::llround(host_rate * static_cast<double>(e));
    }
    void advance(int64_t ns) {
        mono += ns;
        drift_ns += std::llround(host_ppm * 1e-6 * static_cast<double>(ns));
    }
};

class ScriptedSource : public Source {
  public:
    explicit ScriptedSource(World& w) : w_(w) {}
    Result<Batch> poll(int) override {
        Batch b;
        if (w_.publishes_host) {
            b.host = HostInfo{};
            b.host->disruption_marker = 1;
            b.host->clock_status = ClockStatus::synchronized;
        }
        for (int i = 0; i < w_.readings; ++i) {
            const int64_t e = w_.elapsed() + i * 1000;
            b.readings.push_back({w_.guest(e), w_.host(e + 50), w_.guest(e) + 100});
        }
        return b;
    }
    std::string describe() const override { return "scripted"; }

  private:
    World& w_;
};

class Scripted : public ::testing::Test {
  protected:
    void build(bool phc) {
        world.publishes_host = !phc;
        config.chrony.poll = 2;
        SourceSet sources;
        sources.type = phc ? SourceKind::ptp : SourceKind::vmclock;
        sources.time = std::make_unique<ScriptedSource>(world);
        pipeline = std::make_unique<Pipeline>(config, std::move(sources),
                                              std::move(*lab::make_sample_filter("robust")),
                                              std::vector<Sink*>{&sink}, control);
    }
    void poll(int n = 1) {
        for (int i = 0; i < n; ++i) {
            const int64_t mono = world.mono;
            // CLOCK_MONOTONIC (and BOOTTIME) are slewed with REALTIME; RAW is not.
            const int64_t slewed = mono + world.slew_ns;
            PollClocks c{slewed, slewed, slewed, world.guest(world.elapsed()), mono};
            pipeline->poll(c);
            world.advance(kSecond / 2);
        }
    }

    Config config;
    World world;
    test::RecordingSink sink;
    test::RecordingControl control;
    std::unique_ptr<Pipeline> pipeline;
};

TEST_F(Scripted, GuestHoursOffIsTakenAndItsOwnStepIsNoDisruption) {
    build(false);
    world.host_offset_ns = 3 * 3600 * kSecond;  // a freshly booted guest, three hours behind
    poll(20);
    ASSERT_EQ(pipeline->state(), DaemonState::ok) << pipeline->reason();
    // The first sample goes to chrony as a burst (see filter/holdoff.h), then one a poll.
    ASSERT_EQ(sink.sent.size(), 20u + HoldOff::kBurstSamples - 1);
    EXPECT_NEAR(sink.sent.back().offset_ns, 3 * 3600e9, 1e3);
    // chrony steps the guest's clock forward by the three hours (makestep).
    world.guest_step_ns = 3 * 3600 * kSecond;
    poll(40);
    EXPECT_EQ(pipeline->disruptions().count, 0u);
    EXPECT_EQ(control.resets.size(), 0u);
    EXPECT_EQ(pipeline->state(), DaemonState::ok) << pipeline->reason();
    EXPECT_NEAR(sink.sent.back().offset_ns, 0, 1e3);
    // And back again by an hour (an operator): the same.
    world.guest_step_ns -= 3600 * kSecond;
    poll(40);
    EXPECT_EQ(pipeline->disruptions().count, 0u);
    EXPECT_NEAR(sink.sent.back().offset_ns, 3600e9, 1e3);
    EXPECT_EQ(sink.sent.size(), 100u + HoldOff::kBurstSamples - 1);
}

// Found by the VM test: after a loadvm chronyd slewed the guest's clock by 0.6 ms within
// one 0.5-s poll, and the daemon took it for an unannounced step of the host's clock
// (a second disruption and 30 s of probation without feeding chrony).
TEST_F(Scripted, ChronysFastSlewIsNoDisruption) {
    for (const bool phc : {false, true}) {
        SCOPED_TRACE(phc ? "phc" : "page");
        sink.sent.clear();
        build(phc);
        poll(20);
        ASSERT_EQ(pipeline->state(), DaemonState::ok) << pipeline->reason();
        world.slew_ns += 615'352;  // REALTIME and MONOTONIC move, RAW and the host do not
        poll(20);
        world.slew_ns -= 256'000;
        poll(20);
        EXPECT_EQ(pipeline->disruptions().count, 0u) << pipeline->reason();
        EXPECT_EQ(control.resets.size(), 0u);
        EXPECT_EQ(pipeline->state(), DaemonState::ok) << pipeline->reason();
        ASSERT_FALSE(sink.sent.empty());
        EXPECT_NEAR(sink.sent.back().offset_ns, -(615'352.0 - 256'000.0), 1e3);
        world.slew_ns = 0;
    }
}

// The same jump with RAW moving too is the host's clock stepping: one disruption.
TEST_F(Scripted, TheSameJumpOfTheHostsClockIsADisruption) {
    build(false);
    poll(20);
    world.host_offset_ns -= 615'352;
    poll(6);
    EXPECT_EQ(pipeline->disruptions().count, 1u) << pipeline->reason();
    EXPECT_EQ(pipeline->disruptions().last_cause, Disruption::Cause::step);
}

TEST_F(Scripted, LockedChronySteeringAPageSourceRaisesNothing) {
    build(false);
    uint64_t lcg = 1;
    for (int update = 0; update < 250; ++update) {
        lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
        world.host_ppm = 3.0 + static_cast<double>(lcg >> 40) / (1 << 24) * 8.0 - 4.0;
        poll(8);  // one chrony poll of 4 s
    }
    EXPECT_EQ(pipeline->disruptions().count, 0u) << pipeline->reason();
    // Noise-free data gives the filter a razor-thin gate: it holds back a few samples at
    // the changes of slope, which is no disruption.
    EXPECT_GE(sink.sent.size(), 1900u);
}

TEST_F(Scripted, FrozenPhcIsRefusedWithinThePoll) {
    build(true);
    poll(10);
    world.frozen_at = world.host(world.elapsed());
    poll();
    EXPECT_EQ(pipeline->state(), DaemonState::unusable);
    EXPECT_NE(pipeline->reason().find("implausible host time (frozen)"), std::string::npos)
        << pipeline->reason();
}

TEST_F(Scripted, FrozenPhcReadOneCrossTimestampAtATimeIsRefusedAcrossPolls) {
    world.readings = 1;
    build(true);
    poll(10);
    const size_t sent = sink.sent.size();
    world.frozen_at = world.host(world.elapsed());
    poll(6);
    EXPECT_EQ(pipeline->state(), DaemonState::unusable);
    EXPECT_NE(pipeline->reason().find("(host-rate)"), std::string::npos) << pipeline->reason();
    EXPECT_LE(sink.sent.size(), sent + 2);  // the median needs a few intervals to turn
    const size_t refused = sink.sent.size();
    poll(20);
    EXPECT_EQ(sink.sent.size(), refused);
}

TEST_F(Scripted, PhcIn1970IsRefused) {
    build(true);
    world.host_offset_ns = -kStart + 86'400 * kSecond;
    poll(3);
    EXPECT_EQ(pipeline->state(), DaemonState::unusable);
    EXPECT_NE(pipeline->reason().find("(calendar)"), std::string::npos) << pipeline->reason();
    EXPECT_TRUE(sink.sent.empty());
}

TEST_F(Scripted, PhcRunningFastIsRefused) {
    build(true);
    world.host_rate = 1.05;
    poll(6);
    EXPECT_EQ(pipeline->state(), DaemonState::unusable);
    EXPECT_NE(pipeline->reason().find("(host-rate)"), std::string::npos) << pipeline->reason();
}

}  // namespace
}  // namespace vmrefclock

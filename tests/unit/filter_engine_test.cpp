// The engine's outcomes as values: what a start, a marker change, chrony's reset and a
// failed delivery each return, without a daemon around it.
#include <gtest/gtest.h>

#include "filter/engine.h"
#include "tests/sim/lab/basic_filter.h"

namespace vmrefclock {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStartReal = 1'790'000'000 * kSecond;

class EngineTest : public ::testing::Test {
  protected:
    EngineTest() : engine(EngineOptions{}, std::move(*lab::make_sample_filter("basic"))) {}
    Batch batch() const {
        Batch b;
        b.host = HostInfo{};
        b.host->disruption_marker = marker;
        for (int i = 0; i < 5; ++i) {
            const int64_t pre = real + i * 1000;
            b.readings.push_back({pre, pre + 50 + offset_ns, pre + 100});
        }
        return b;
    }
    const Engine::Outcome& poll() {
        PollClocks c{mono, mono, mono, real, 0, 0};
        mono += kSecond / 2;
        real += kSecond / 2;
        return engine.poll(c, batch());
    }
    bool has(const Engine::Outcome& out, EngineEvent::Kind kind) const {
        for (size_t i = 0; i < out.event_count; ++i) {
            if (out.events[i].kind == kind) return true;
        }
        return false;
    }

    Engine engine;
    int64_t mono = 100 * kSecond;
    int64_t real = kStartReal;
    int64_t offset_ns = 250'000;
    uint64_t marker = 1;
};

TEST_F(EngineTest, StartBurstsThenSendsOneAPoll) {
    const Engine::Outcome& first = poll();
    ASSERT_TRUE(first.sample);
    EXPECT_EQ(first.copies, HoldOff::kBurstSamples);
    EXPECT_FALSE(first.reset_chrony);
    EXPECT_EQ(engine.state().cause, StateCause::starting);
    const Engine::Outcome& taken = engine.delivered(true, {}, mono);
    EXPECT_TRUE(has(taken, EngineEvent::Kind::feeding_resumed));
    EXPECT_EQ(engine.state().state, DaemonState::ok);
    EXPECT_EQ(engine.state().cause, StateCause::feeding);
    const Engine::Outcome& next = poll();
    EXPECT_EQ(next.copies, 1);
    EXPECT_EQ(next.event_count, 0u);
}

TEST_F(EngineTest, MarkerChangeResetsChronyHoldsTheNewClockAndBurstsItAfterTheReset) {
    poll();
    engine.delivered(true, {}, mono);
    poll();
    engine.delivered(true, {}, mono);
    marker = 2;
    offset_ns += 2'000'000;
    const Engine::Outcome& out = poll();
    EXPECT_TRUE(out.reset_chrony);
    EXPECT_TRUE(out.disrupted);
    ASSERT_TRUE(has(out, EngineEvent::Kind::disruption));
    EXPECT_EQ(out.events[0].disruption.cause, Disruption::Cause::marker);
    EXPECT_EQ(out.events[0].disruption.detail, "disruption marker 1 -> 2");
    ASSERT_TRUE(out.sample);   // of the new clock, measured
    EXPECT_EQ(out.copies, 0);  // but held back: the reset would drop it
    EXPECT_EQ(engine.state().state, DaemonState::holdoff);
    EXPECT_EQ(engine.state().cause, StateCause::disruption);
    EXPECT_EQ(engine.state().disruption, Disruption::Cause::marker);
    const Engine::Outcome& done = engine.chrony_reset_done(true);
    ASSERT_TRUE(done.sample);
    EXPECT_EQ(done.copies, HoldOff::kBurstSamples);
    EXPECT_NEAR(done.sample->offset_ns, 2'250'000, 1);
    const Engine::Outcome& taken = engine.delivered(true, {}, mono);
    ASSERT_TRUE(has(taken, EngineEvent::Kind::feeding_resumed));
    EXPECT_TRUE(taken.events[0].after_disruption);
    EXPECT_EQ(engine.state().cause, StateCause::recovering);
    // A second completion finds nothing to do.
    EXPECT_FALSE(engine.chrony_reset_done(true).sample);
}

TEST_F(EngineTest, FailedDeliveryIsDegradedWithTheSinksWords) {
    poll();
    engine.delivered(false, "chrony: connect: refused", mono);
    EXPECT_EQ(engine.state().state, DaemonState::degraded);
    EXPECT_EQ(engine.state().cause, StateCause::delivery_failed);
    EXPECT_EQ(engine.state().detail, "chrony: connect: refused");
    EXPECT_EQ(engine.samples_sent(), 0u);
    // The burst was not delivered: the next sample is a burst again.
    EXPECT_EQ(poll().copies, HoldOff::kBurstSamples);
}

TEST_F(EngineTest, UnreadableSourceAndUnusablePageAreStates) {
    PollClocks c{mono, mono, mono, real, 0, 0};
    const Engine::Outcome& failed = engine.poll_failed(c, "device gone");
    EXPECT_FALSE(failed.sample);
    EXPECT_EQ(engine.state().cause, StateCause::source_unreadable);
    EXPECT_EQ(engine.state().detail, "device gone");
    EXPECT_FALSE(engine.last_poll_completed());
    Batch b = batch();
    b.readings.clear();
    b.unusable_reason = "marker-only page";
    EXPECT_FALSE(engine.poll(c, b).sample);
    EXPECT_EQ(engine.state().state, DaemonState::unusable);
    EXPECT_EQ(engine.state().cause, StateCause::page_unusable);
    EXPECT_TRUE(engine.last_poll_completed());
}

}  // namespace
}  // namespace vmrefclock

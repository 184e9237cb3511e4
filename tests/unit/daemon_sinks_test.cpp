// Sinks as a list: the clock sink is served first, whatever the list's order, and the
// others see its verdict; the status reports each sink the same way.
#include <gtest/gtest.h>

#include "daemon/pipeline.h"
#include "daemon/status_snapshot.h"
#include "tests/sim/lab/basic_filter.h"
#include "tests/support/fake_sinks.h"

namespace vmrefclock {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStartReal = 1'790'000'000 * kSecond;

class SteadySource : public Source {
  public:
    explicit SteadySource(const int64_t& now_real) : now_real_(now_real) {}
    Result<Batch> poll(int readings) override {
        Batch b;
        b.host = HostInfo{};
        b.host->disruption_marker = 5;
        for (int i = 0; i < readings; ++i) {
            const int64_t pre = now_real_ + i * 1000;
            b.readings.push_back({pre, pre + 50 + 250'000, pre + 100});
        }
        return b;
    }
    std::string describe() const override { return "steady"; }

  private:
    const int64_t& now_real_;
};

// A sink that does not feed the clock (like the bounded-time segment).
class Observer : public Sink {
  public:
    struct Seen {
        bool fed_clock;
        bool measured;
        DaemonState state;
        std::optional<uint64_t> marker;
        int clock_updates_before;  // what the clock sink had received by then
    };
    explicit Observer(const test::RecordingSink& clock) : clock_(clock) {}
    Status deliver(const SinkUpdate& u) override {
        seen.push_back(
            {u.fed_clock, u.measured != nullptr, u.state, u.disruption_marker, clock_.updates});
        return Ok{};
    }
    SinkStatus status() const override {
        return {"observer", "/tmp/x", "watching", true, std::nullopt, seen.size(), std::nullopt};
    }
    std::vector<Seen> seen;

  private:
    const test::RecordingSink& clock_;
};

class DroppingClock : public test::RecordingSink {
  public:
    SinkStatus status() const override {
        SinkStatus s = RecordingSink::status();
        s.dropped = 3;
        return s;
    }
};

class Sinks : public ::testing::Test {
  protected:
    Sinks() : observer(clock) {
        config.source.readings = 5;
        SourceSet sources;
        sources.type = SourceKind::vmclock;
        sources.time = std::make_unique<SteadySource>(now_real);
        // The observer first: the pipeline still serves the clock sink first.
        pipeline = std::make_unique<Pipeline>(config, std::move(sources),
                                              std::move(*lab::make_sample_filter("basic")),
                                              std::vector<Sink*>{&observer, &clock}, control);
    }
    void poll() {
        pipeline->poll({now_mono, now_mono, now_mono, now_real, now_mono, now_mono});
        now_mono += kSecond / 2;
        now_real += kSecond / 2;
    }
    Config config;
    int64_t now_mono = 100 * kSecond;
    int64_t now_real = kStartReal;
    DroppingClock clock;
    Observer observer;
    test::RecordingControl control;
    std::unique_ptr<Pipeline> pipeline;
};

TEST_F(Sinks, OthersSeeWhatTheClockSinkDidWithTheSample) {
    for (int i = 0; i < 4; ++i) poll();
    ASSERT_EQ(observer.seen.size(), 4u);
    const Observer::Seen& fed = observer.seen.back();
    EXPECT_TRUE(fed.fed_clock);
    EXPECT_TRUE(fed.measured);
    EXPECT_EQ(fed.state, DaemonState::ok);
    EXPECT_EQ(fed.marker, 5u);
    EXPECT_EQ(fed.clock_updates_before, 4);  // served after the clock sink
    clock.down = true;
    poll();
    const Observer::Seen& failed = observer.seen.back();
    EXPECT_FALSE(failed.fed_clock);
    EXPECT_TRUE(failed.measured);  // a measurement all the same
    EXPECT_EQ(failed.state, DaemonState::degraded);
    EXPECT_EQ(pipeline->reason(), "chrony: connect: No such file or directory");
}

TEST_F(Sinks, StatusReportsEverySinkTheSameWay) {
    for (int i = 0; i < 3; ++i) poll();
    const StatusSnapshot s = build_snapshot(*pipeline, {"vmclock", "/dev/x", 0, now_mono});
    ASSERT_EQ(s.sinks.size(), 2u);
    EXPECT_EQ(s.sinks[0].name, "chrony");
    EXPECT_EQ(s.sinks[0].sent, 3u + HoldOff::kBurstSamples - 1);
    EXPECT_EQ(s.sinks[0].dropped, 3u);
    EXPECT_EQ(s.sinks[1].name, "observer");
    EXPECT_EQ(s.sinks[1].sent, 3u);
    // The clock sink is chrony's status as well.
    EXPECT_EQ(s.chrony.socket, "fake");
    EXPECT_TRUE(s.chrony.connected);
}

}  // namespace
}  // namespace vmrefclock

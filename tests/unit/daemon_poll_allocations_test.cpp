// Steady-state polls make no heap allocation (issue 11): a replacement global operator
// new counts them over 1000 polls of the Pipeline with the daemon's default filter, a
// source like a vmclock page and a recording clock sink, after a warm-up that fills
// every window. Allocations inside the source's poll and the filter's process() are
// counted apart, so a failure says whose they are.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "daemon/pipeline.h"
#include "tests/support/counting_new.h"
#include "tests/support/fake_sinks.h"

namespace vmrefclock {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStartReal = 1'790'000'000 * kSecond;

uint64_t allocations() {
    return static_cast<uint64_t>(g_allocations.load(std::memory_order_relaxed));
}

// A vmclock-like page: host info in every batch, readings with a little jitter.
class PageLikeSource : public Source {
  public:
    explicit PageLikeSource(const int64_t& now_real) : now_real_(now_real) {}
    Result<Batch> poll(int readings) override { return poll_new_batch(readings); }
    Status poll_into(int readings, Batch& b) override {
        const uint64_t before = allocations();
        make(readings, b);
        allocations_ += allocations() - before;
        return Ok{};
    }
    std::string describe() const override { return "page-like"; }
    uint64_t allocations_ = 0;

  private:
    void make(int readings, Batch& b) {
        b.clear();
        b.host = HostInfo{};
        b.host->disruption_marker = 1;
        b.host->clock_status = ClockStatus::synchronized;
        b.readings.reserve(static_cast<size_t>(readings));
        for (int i = 0; i < readings; ++i) {
            lcg_ = lcg_ * 6364136223846793005ULL + 1442695040888963407ULL;
            const int64_t jitter = static_cast<int64_t>(lcg_ >> 56);  // 0..255 ns
            const int64_t pre = now_real_ + i * 1000;
            b.readings.push_back({pre, pre + 50 + 250'000 + jitter / 4, pre + 100 + jitter});
        }
    }
    const int64_t& now_real_;
    uint64_t lcg_ = 1;
};

// The daemon's default filter, its allocations counted apart.
class CountedFilter : public SampleFilter {
  public:
    explicit CountedFilter(std::unique_ptr<SampleFilter> inner) : inner_(std::move(inner)) {}
    Result<Sample> process(const Batch& batch) override {
        const uint64_t before = allocations();
        Result<Sample> out = inner_->process(batch);
        allocations_ += allocations() - before;
        return out;
    }
    std::optional<Estimate> estimate() const override { return inner_->estimate(); }
    void reset() override { inner_->reset(); }
    int samples_in_window() const override { return inner_->samples_in_window(); }
    std::optional<double> confirmed_step_ns() const override { return inner_->confirmed_step_ns(); }
    uint64_t allocations_ = 0;

  private:
    std::unique_ptr<SampleFilter> inner_;
};

TEST(PollAllocations, SteadyPollsOfEngineAndPipelineAllocateNothing) {
    Config config;  // the defaults: 10 readings, chrony poll 2
    int64_t now_real = kStartReal;
    int64_t now_mono = 100 * kSecond;
    SourceSet sources;
    sources.type = SourceKind::vmclock;
    auto source = std::make_unique<PageLikeSource>(now_real);
    PageLikeSource& source_ref = *source;
    sources.time = std::move(source);
    auto filter = std::make_unique<CountedFilter>(make_default_filter());
    CountedFilter& filter_ref = *filter;
    test::RecordingSink sink;
    sink.sent.reserve(4000);
    test::RecordingControl control;
    Pipeline pipeline(config, std::move(sources), std::move(filter), std::vector<Sink*>{&sink},
                      control);
    auto poll = [&] {
        PollClocks clocks{now_mono, now_mono, now_mono, now_real, now_mono, now_mono};
        pipeline.poll(clocks);
        now_mono += kSecond / 2;
        now_real += kSecond / 2;
    };
    for (int i = 0; i < 1000; ++i) poll();  // every window full, hold-off long over
    ASSERT_EQ(pipeline.state(), DaemonState::ok) << pipeline.reason();

    const uint64_t sent_before = pipeline.samples_sent();
    source_ref.allocations_ = 0;
    filter_ref.allocations_ = 0;
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 1000; ++i) poll();
    g_counting = false;
    const uint64_t total = allocations();
    const uint64_t in_source = source_ref.allocations_;
    const uint64_t in_filter = filter_ref.allocations_;
    std::printf(
        "1000 steady polls: %llu allocations (source poll %llu, filter %llu, the rest %llu)\n",
        static_cast<unsigned long long>(total), static_cast<unsigned long long>(in_source),
        static_cast<unsigned long long>(in_filter),
        static_cast<unsigned long long>(total - in_source - in_filter));
    EXPECT_EQ(pipeline.samples_sent() - sent_before, 1000u);  // every poll fed chrony
    EXPECT_EQ(pipeline.state(), DaemonState::ok) << pipeline.reason();
    EXPECT_EQ(total - in_source - in_filter, 0u) << "the engine or the pipeline allocated";
    EXPECT_EQ(total, 0u) << "a steady poll allocated";
}

}  // namespace
}  // namespace vmrefclock

// One poll of the data flow: source -> selector -> estimator -> chrony, with the
// disruption response. Driven by the event loop; owns no fds itself.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "daemon/log_limiter.h"
#include "filter/disruption_monitor.h"
#include "filter/holdoff.h"
#include "filter/sample_filter.h"
#include "sources/source.h"

namespace vmrefclock {

// Where samples go (chrony's SOCK refclock in production).
class SampleSink {
  public:
    virtual ~SampleSink() = default;
    virtual Status send(const Sample& sample, int64_t now_mono_ns) = 0;
    virtual bool connected() const = 0;
    virtual std::string last_error() const = 0;
};

// Who tells chrony to drop its measurements ("chronyc reset sources").
class ChronyResetter {
  public:
    virtual ~ChronyResetter() = default;
    virtual bool enabled() const = 0;
    virtual void reset_sources(const std::string& reason) = 0;
};

enum class PipelineState { starting, ok, holdoff, degraded, unusable, no_source };
const char* to_string(PipelineState state);

struct SampleRecord {
    Sample sample;
    bool sent = false;
};

struct DisruptionRecord {
    uint64_t count = 0;
    int64_t last_time_ns = 0;  // CLOCK_REALTIME
    std::string last_cause;
};

class Pipeline {
  public:
    Pipeline(const Config& config, std::unique_ptr<Source> source,
             std::unique_ptr<SampleFilter> filter, SampleSink& sink, ChronyResetter& chrony);

    // One poll. Clock values come in so the pipeline itself reads no clocks.
    void poll(int64_t now_mono_ns, int64_t now_real_ns);
    // An operator's or a detector's disruption (same response as a marker change).
    void disrupt(Disruption disruption, int64_t now_mono_ns, int64_t now_real_ns);

    PipelineState state() const { return state_; }
    const std::string& reason() const { return reason_; }
    std::optional<Estimate> estimate() const { return filter_->estimate(); }
    int samples_in_window() const { return filter_->samples_in_window(); }
    const std::optional<HostInfo>& host() const { return host_; }
    const DisruptionRecord& disruptions() const { return disruptions_; }
    const std::deque<SampleRecord>& recent() const { return recent_; }
    uint64_t polls() const { return polls_; }
    uint64_t samples_sent() const { return samples_sent_; }
    uint64_t samples_rejected() const { return samples_rejected_; }
    std::optional<int64_t> last_sent_mono_ns() const { return last_sent_mono_ns_; }
    std::string source_description() const { return source_->describe(); }
    // True when the last poll completed (a batch was read, whatever its verdict).
    bool last_poll_completed() const { return last_poll_completed_; }

  private:
    void set_state(PipelineState state, std::string reason, int64_t now_mono_ns);
    void remember(const Sample& sample, bool sent);

    const Config config_;
    std::unique_ptr<Source> source_;
    std::unique_ptr<SampleFilter> filter_;
    SampleSink& sink_;
    ChronyResetter& chrony_;
    DisruptionMonitor monitor_;
    HoldOff holdoff_;
    LogLimiter log_limiter_;

    PipelineState state_ = PipelineState::starting;
    std::string reason_ = "no sample sent yet";
    std::optional<HostInfo> host_;
    DisruptionRecord disruptions_;
    std::deque<SampleRecord> recent_;
    uint64_t polls_ = 0;
    uint64_t samples_sent_ = 0;
    uint64_t samples_rejected_ = 0;
    std::optional<int64_t> last_sent_mono_ns_;
    bool last_poll_completed_ = false;
};

}  // namespace vmrefclock

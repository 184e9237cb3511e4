// One poll of the data flow: source -> engine (filter/engine.h) -> sinks, and the
// engine's other inputs: the host's signal between polls, an operator's reset, chrony's
// reset done. Reads no clocks and owns no fds; it carries the engine's outcomes to the
// sinks and to chrony's reset, and formats and logs what the engine decided.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "daemon/log_limiter.h"
#include "filter/engine.h"
#include "filter/sink.h"
#include "ipc/status/status.h"
#include "sources/source.h"
#include "sources/source_plan.h"

namespace vmrefclock {

// The last samples made, newest last; a ring of fixed capacity (no allocation once made).
class RecentSamples {
  public:
    explicit RecentSamples(size_t capacity) : ring_(capacity) {}
    void push(const SampleRecord& record);
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const SampleRecord& back() const { return at(size_ - 1); }
    // The last n (at most size()), oldest first.
    std::vector<SampleRecord> last(size_t n) const;

  private:
    const SampleRecord& at(size_t i) const { return ring_[(start_ + i) % ring_.size()]; }
    std::vector<SampleRecord> ring_;
    size_t start_ = 0;
    size_t size_ = 0;
};

// The engine's options as the configuration sets them.
EngineOptions engine_options(const Config& config, bool chrony_reset);

class Pipeline {
  public:
    // `sinks` outlive the pipeline; the clock sinks (chrony) are served first.
    Pipeline(const Config& config, SourceSet sources, std::unique_ptr<SampleFilter> filter,
             std::vector<Sink*> sinks, ChronyResetter& chrony);

    void poll(const PollClocks& clocks);
    // Between polls: reads only the host's disruption signal (the vmclock page) and, on a
    // disruption, responds as poll() would. True when it found one: the caller then polls
    // at once, for the new clock's first sample. Cheap (one page read), so the caller runs
    // it far more often than poll(): chrony's recovery counts from the reset, and each
    // refclock poll the reset misses costs a whole poll.
    bool watch(const PollClocks& clocks);
    // True when watch() has a signal to read (a vmclock page, as source or beside a PHC).
    bool can_watch() const { return signal_ || host_from_source_; }
    // Cheap, before watch(): whether that signal may differ from its last full read (a
    // few fields of the page, no clock read, no allocation). False: nothing to watch.
    bool host_signals_changed() const {
        if (signal_) return signal_->host_signals_changed();
        return host_from_source_ && source_->host_signals_changed();
    }
    // The reset asked for after a disruption is done (`ok`: chronyc said so): the held
    // sample of the new clock, if any, goes to chrony now as a burst.
    void chrony_reset_done(bool ok, int64_t now_mono_ns);
    // An operator's or a detector's disruption (same response as a marker change).
    void disrupt(Disruption disruption, int64_t now_mono_ns, int64_t now_real_ns);
    // No time source at all (the daemon is looking for one): the state says why.
    void report_no_source(std::string_view reason, int64_t now_mono_ns);

    DaemonState state() const { return state_; }
    const std::string& reason() const { return reason_; }
    std::optional<Estimate> estimate() const { return engine_.estimate(); }
    int samples_in_window() const { return engine_.samples_in_window(); }
    const std::optional<HostInfo>& host() const { return engine_.host(); }
    const DisruptionRecord& disruptions() const { return engine_.disruptions(); }
    const RecentSamples& recent() const { return recent_; }
    uint64_t polls() const { return engine_.polls(); }
    uint64_t samples_sent() const { return engine_.samples_sent(); }
    uint64_t samples_rejected() const { return engine_.samples_rejected(); }
    std::optional<int64_t> last_sent_mono_ns() const { return engine_.last_sent_mono_ns(); }
    std::string source_description() const { return source_->describe(); }
    std::string source_method() const { return source_->method_name(); }
    const std::string& disruption_signal() const { return disruption_signal_; }
    const std::vector<Sink*>& sinks() const { return sinks_; }
    // Called with every batch read, host metadata attached, before any verdict on it
    // ([source] record).
    void set_batch_recorder(std::function<void(const Batch&)> recorder) {
        batch_recorder_ = std::move(recorder);
    }
    // The poll interval to use now: the configured one, faster while chrony recovers.
    int64_t sampling_interval_ns(int64_t configured_ns) const {
        return engine_.sampling_interval_ns(configured_ns);
    }
    // True when the last poll completed (a batch was read, whatever its verdict).
    bool last_poll_completed() const { return engine_.last_poll_completed(); }
    const std::optional<Sample>& poll_sample() const { return engine_.poll_sample(); }

  private:
    // Delivers the outcome's sample to the clock sinks, tells the engine, logs, takes
    // the state; then, when `update_sinks`, the other sinks see the result.
    void carry_out(const Engine::Outcome& out, const PollClocks& clocks, bool after_poll,
                   bool update_sinks);
    void log_events(const Engine::Outcome& out, int64_t now_mono_ns);
    void apply_state(int64_t now_mono_ns);
    // `cause` is a stable key for the log limiter ("chrony", "source", ...): the reason
    // text may carry numbers that change from poll to poll, the cause does not.
    void set_state(DaemonState state, std::string_view cause, std::string reason,
                   int64_t now_mono_ns);
    void attach_signal(Batch& batch, int64_t now_mono_ns);
    void remember(const Sample& sample, bool sent);

    const Config config_;
    std::unique_ptr<Source> source_;
    std::unique_ptr<HostSignal> signal_;
    std::string disruption_signal_;
    std::vector<Sink*> sinks_;  // clock sinks first
    ChronyResetter& chrony_;
    Engine engine_;
    LogLimiter log_limiter_;
    bool problem_logged_ = false;  // the last bad state's warning was logged

    EngineState applied_;  // the engine's state the reason was last made from
    DaemonState state_ = DaemonState::starting;
    std::string reason_ = "no sample sent yet";
    std::string delivery_error_;
    RecentSamples recent_;
    Batch batch_;  // the last poll's, its buffers reused
    std::function<void(const Batch&)> batch_recorder_;
    bool host_from_source_ = false;  // the source's batches carry the page's host info
};

}  // namespace vmrefclock

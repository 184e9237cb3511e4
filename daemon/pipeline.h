// One poll of the data flow: source -> selector -> estimator -> chrony, with the
// disruption response. Driven by the event loop; owns no fds itself.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "daemon/log_limiter.h"
#include "filter/data_disruption_detector.h"
#include "filter/disruption_monitor.h"
#include "filter/holdoff.h"
#include "filter/plausibility.h"
#include "filter/sample_filter.h"
#include "filter/step_guard.h"
#include "filter/system_clock_slew.h"
#include "ipc/status/status.h"
#include "sources/source.h"
#include "sources/source_plan.h"

namespace vmrefclock {

// Where samples go (chrony's SOCK refclock in production).
class SampleSink {
  public:
    virtual ~SampleSink() = default;
    virtual Status send(const Sample& sample, int64_t now_mono_ns) = 0;
    // True once chronyd has read every datagram sent (waiting at most timeout_ns).
    virtual bool wait_read(int64_t timeout_ns) {
        (void)timeout_ns;
        return true;
    }
    virtual bool connected() const = 0;
    virtual std::string last_error() const = 0;
};

// Who tells chrony to drop its measurements ("chronyc reset sources").
class ChronyResetter {
  public:
    virtual ~ChronyResetter() = default;
    virtual bool enabled() const = 0;
    // Starts the reset; the owner calls Pipeline::chrony_reset_done when it is done.
    virtual void reset_sources(const std::string& reason) = 0;
};

struct DisruptionRecord {
    uint64_t count = 0;
    int64_t last_time_ns = 0;  // CLOCK_REALTIME
    std::string last_cause;
};

// The clocks read at the start of a poll (the pipeline itself reads none).
// BOOTTIME and REALTIME are read between two MONOTONIC reads so a suspend shows as a
// jump of BOOTTIME - MONOTONIC, and a step of the guest's clock as a jump of
// REALTIME - MONOTONIC, each with a known bracket.
struct PollClocks {
    int64_t mono_ns = 0;
    int64_t boottime_ns = 0;
    int64_t mono_after_ns = 0;
    int64_t real_ns = 0;
    int64_t raw_ns = 0;  // CLOCK_MONOTONIC_RAW, read last; 0 = not read
};

class Pipeline {
  public:
    Pipeline(const Config& config, SourceSet sources, std::unique_ptr<SampleFilter> filter,
             SampleSink& sink, ChronyResetter& chrony);

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
    void report_no_source(std::string reason, int64_t now_mono_ns) {
        set_state(DaemonState::no_source, "discovery", std::move(reason), now_mono_ns);
    }

    DaemonState state() const { return state_; }
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
    std::string source_method() const { return source_->method_name(); }
    const std::string& disruption_signal() const { return disruption_signal_; }
    // Called with every batch read, host metadata attached, before any verdict on it
    // ([source] record).
    void set_batch_recorder(std::function<void(const Batch&)> recorder) {
        batch_recorder_ = std::move(recorder);
    }
    // The poll interval to use now: the configured one, faster while chrony recovers.
    int64_t sampling_interval_ns(int64_t configured_ns) const {
        return holdoff_.sampling_interval_ns(configured_ns);
    }
    // True when the last poll completed (a batch was read, whatever its verdict).
    bool last_poll_completed() const { return last_poll_completed_; }
    // The sample the last poll produced and trusted: sent, or held back by the hold-off
    // only (a measurement of the new clock all the same).
    const std::optional<Sample>& poll_sample() const { return poll_sample_; }

  private:
    // `cause` is a stable key for the log limiter ("chrony", "source", ...): the reason
    // text may carry numbers that change from poll to poll, the cause does not.
    void set_state(DaemonState state, std::string_view cause, std::string reason,
                   int64_t now_mono_ns);
    void attach_signal(Batch& batch, int64_t now_mono_ns);
    // False when a disruption was handled and this poll has nothing more to do.
    bool check_host(const HostInfo& host, const PollClocks& clocks);
    // The plausibility gates and an unannounced step's probation: false when the batch
    // must not reach the filter (the state says why).
    bool admit(const Batch& batch, const PollClocks& clocks);
    // A disruption found in the data; a step also starts its probation.
    void disrupt_from_data(const Disruption& disruption, const Batch& batch,
                           const PollClocks& clocks);
    void remember(const Sample& sample, bool sent);
    // Sends the first sample after a start or disruption as a burst (see HoldOff).
    void send_burst(const Sample& sample, int64_t now_mono_ns);
    // The newest sample of the new clock while chrony's reset runs.
    std::optional<Sample> held_;
    void feeding_state(int64_t now_mono_ns);

    const Config config_;
    std::unique_ptr<Source> source_;
    std::unique_ptr<HostSignal> signal_;
    std::string disruption_signal_;
    std::optional<DataDisruptionDetector> detector_;
    PlausibilityGates gates_;
    StepGuard step_guard_;
    GuestStepWatch guest_steps_;
    SystemClockSlew slew_;  // a confirmed step that chrony's slew made, not the host
    // The model as of the last sample the detectors trusted: what an unannounced step is
    // measured from, and what a transient returns to.
    std::optional<Estimate> last_trusted_;
    std::unique_ptr<SampleFilter> filter_;
    SampleSink& sink_;
    ChronyResetter& chrony_;
    DisruptionMonitor monitor_;
    HoldOff holdoff_;
    LogLimiter log_limiter_;
    bool problem_logged_ = false;  // the last bad state's warning was logged

    DaemonState state_ = DaemonState::starting;
    std::string reason_ = "no sample sent yet";
    std::optional<HostInfo> host_;
    DisruptionRecord disruptions_;
    std::deque<SampleRecord> recent_;
    uint64_t polls_ = 0;
    uint64_t samples_sent_ = 0;
    uint64_t samples_rejected_ = 0;
    std::optional<int64_t> last_sent_mono_ns_;
    bool last_poll_completed_ = false;
    std::function<void(const Batch&)> batch_recorder_;
    bool host_from_source_ = false;  // the source's batches carry the page's host info
    std::optional<Sample> poll_sample_;
};

}  // namespace vmrefclock

// Engine: the pure core of one daemon poll and of every disruption response, as one
// state machine that takes values and returns one outcome.
//
// In: a poll's batch (or the failure to read one) and the clocks read around it; the
// host's signals (its page's marker, generation and status, between polls too); an
// operator's reset; the end of chrony's reset; whether the clock sink took a sample.
// Out: an Outcome: the sample to send (alone, or as the burst that follows a start or
// a disruption) or none; whether to reset chrony; the state with a typed cause; the
// events worth logging (typed: the daemon formats them).
//
// The disruption policy lives here and only here:
//   host signals    DisruptionMonitor (marker, generation, unreliable); maintenance
//   data detectors  suspend (clocks), step (sample, or the filter's confirmed step),
//                   frequency (estimate): DataDisruptionDetector
//   guest's clock   a step of CLOCK_REALTIME (GuestStepWatch) or a slew that looks like a
//                   step (SystemClockSlew) restarts the filter; no disruption
//   gates           PlausibilityGates before the filter sees a batch
//   probation       StepGuard: an unannounced step is followed once it holds
//   response        HoldOff: reset chrony, hold samples back, burst, recover fast
// No system call, no clock read, no logging; no allocation in a steady poll.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filter/data_disruption_detector.h"
#include "filter/disruption_monitor.h"
#include "filter/engine_state.h"
#include "filter/holdoff.h"
#include "filter/plausibility.h"
#include "filter/sample_filter.h"
#include "filter/step_guard.h"
#include "filter/system_clock_slew.h"
#include "filter/types.h"

namespace vmrefclock {

// The clocks read at the start of a poll. BOOTTIME and REALTIME are read between two
// MONOTONIC reads so a suspend shows as a jump of BOOTTIME - MONOTONIC, and a step of
// the guest's clock as a jump of REALTIME - MONOTONIC, each with a known bracket.
struct PollClocks {
    int64_t mono_ns = 0;
    int64_t boottime_ns = 0;
    int64_t mono_after_ns = 0;
    int64_t real_ns = 0;
    int64_t raw_ns = 0;          // CLOCK_MONOTONIC_RAW, read last; 0 = not read
    int64_t coarse_mono_ns = 0;  // CLOCK_MONOTONIC_COARSE, for the sinks only
};

struct EngineOptions {
    DataDisruptionOptions detectors;
    StepGuardOptions step_guard;
    PlausibilityOptions gates;
    int64_t chrony_poll_ns = HoldOff::interval_for_poll(2);
    // False: nobody resets chrony, so a disruption does not wait for it.
    bool chrony_reset = true;
};

// The state and what its words are made of.
struct EngineState {
    DaemonState state = DaemonState::starting;
    StateCause cause = StateCause::starting;
    // The message the cause carries: the source's or filter's error, the page's or the
    // gate's reason, the disruption's detail, the sink's error; "" otherwise.
    std::string detail;
    std::string gate;  // implausible: the gate's name
    Disruption::Cause disruption = Disruption::Cause::manual;
    double step_ns = 0;  // probation: the step from the pre-step model
    bool operator==(const EngineState&) const = default;
};

struct EngineEvent {
    enum class Kind : uint8_t {
        disruption,             // `disruption`: calibration discarded, chrony reset asked
        maintenance_announced,  // `maintenance`
        probation_started,      // value_ns: the probation
        step_reverted,          // value_ns: the step that came back
        step_accepted,          // value_ns: the probation it held for
        step_moved,             // value_ns: the new move
        guest_clock_stepped,    // value_ns: the guest's step; the filter restarts
        system_clock_slewed,    // value_ns: the slew the filter took for a step
        feeding_resumed,        // after_disruption: a disruption came before
        chrony_not_reset,       // chronyc failed: chrony may mix the clocks a while
    };
    Kind kind = Kind::disruption;
    double value_ns = 0;
    bool after_disruption = false;
    Maintenance maintenance = Maintenance::none;
    Disruption disruption{Disruption::Cause::manual, {}};
};

struct DisruptionRecord {
    uint64_t count = 0;
    int64_t last_time_ns = 0;  // CLOCK_REALTIME
    Disruption::Cause last_cause = Disruption::Cause::manual;
};

class Engine {
  public:
    static constexpr size_t kMaxEvents = 8;

    // What one call decided. Reused from call to call (its strings keep their capacity).
    struct Outcome {
        // The sample made this call: to send `copies` times (0: held back, recorded
        // as not sent). The caller reports the delivery with delivered().
        std::optional<Sample> sample;
        int copies = 0;
        bool reset_chrony = false;  // ask chrony to reset its sources now
        bool disrupted = false;     // a disruption began in this call
        std::array<EngineEvent, kMaxEvents> events{};
        size_t event_count = 0;
    };

    Engine(EngineOptions options, std::unique_ptr<SampleFilter> filter);

    // One poll of a batch read (host info attached) / of a source that could not be read.
    const Outcome& poll(const PollClocks& clocks, const Batch& batch);
    const Outcome& poll_failed(const PollClocks& clocks, std::string_view error);
    // The host's signal read between polls.
    const Outcome& observe_host(const HostInfo& host, const PollClocks& clocks);
    // An operator's disruption (same response as a marker change).
    const Outcome& disrupt(Disruption disruption, int64_t now_mono_ns, int64_t now_real_ns);
    // The reset asked for is done (`ok`: chronyc said so): the held sample, as a burst.
    const Outcome& chrony_reset_done(bool ok);
    // Whether the clock sink took the outcome's sample (`error`: why not). The outcome
    // keeps the sample; its events are the delivery's only (read the call's before).
    const Outcome& delivered(bool ok, std::string_view error, int64_t now_mono_ns);
    // No time source at all: the state says why.
    void report_no_source(std::string_view reason);

    const EngineState& state() const { return state_; }
    std::optional<Estimate> estimate() const { return filter_->estimate(); }
    int samples_in_window() const { return filter_->samples_in_window(); }
    const std::optional<HostInfo>& host() const { return host_; }
    const DisruptionRecord& disruptions() const { return disruptions_; }
    uint64_t polls() const { return polls_; }
    uint64_t samples_sent() const { return samples_sent_; }
    uint64_t samples_rejected() const { return samples_rejected_; }
    std::optional<int64_t> last_sent_mono_ns() const { return last_sent_mono_ns_; }
    bool last_poll_completed() const { return last_poll_completed_; }
    // The sample the last poll produced and trusted: sent, or held back by the hold-off
    // only (a measurement of the new clock all the same).
    const std::optional<Sample>& poll_sample() const { return poll_sample_; }
    int64_t sampling_interval_ns(int64_t configured_ns) const {
        return holdoff_.sampling_interval_ns(configured_ns);
    }
    const StepGuardOptions& step_guard_options() const { return step_guard_.options(); }

  private:
    Outcome& begin();
    // The event added, or null when the outcome is full.
    EngineEvent* event(EngineEvent::Kind kind, double value_ns = 0);
    void set_state(DaemonState state, StateCause cause, std::string_view detail = {});
    void start_poll(const PollClocks& clocks);
    void start_disruption(Disruption disruption, int64_t now_real_ns);
    // False when the host says its clock is unreliable (the state says so).
    bool check_host(const HostInfo& host, const PollClocks& clocks);
    // The gates and an unannounced step's probation: false when the batch must not
    // reach the filter.
    bool admit(const Batch& batch, const PollClocks& clocks);
    void judge(const Batch& batch, const PollClocks& clocks, Sample& sample,
               const std::optional<Estimate>& before);
    void send_or_hold(const Sample& sample);
    void feeding_state();

    EngineOptions options_;
    std::unique_ptr<SampleFilter> filter_;
    DataDisruptionDetector detector_;
    PlausibilityGates gates_;
    StepGuard step_guard_;
    GuestStepWatch guest_steps_;
    SystemClockSlew slew_;  // a confirmed step that chrony's slew made, not the host
    DisruptionMonitor monitor_;
    HoldOff holdoff_;
    // The model as of the last sample the detectors trusted: what an unannounced step is
    // measured from, and what a transient returns to.
    std::optional<Estimate> last_trusted_;
    std::optional<Sample> held_;  // the newest sample of the new clock while chrony resets
    std::vector<BatchOffset> scratch_;

    Outcome outcome_;
    EngineState state_;
    std::optional<HostInfo> host_;
    DisruptionRecord disruptions_;
    uint64_t polls_ = 0;
    uint64_t samples_sent_ = 0;
    uint64_t samples_rejected_ = 0;
    std::optional<int64_t> last_sent_mono_ns_;
    bool last_poll_completed_ = false;
    std::optional<Sample> poll_sample_;
};

}  // namespace vmrefclock

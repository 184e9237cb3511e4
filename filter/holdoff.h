// HoldOff: the response to a disruption and to a start, as a pure state machine over
// monotonic time.
//
// What bounds chrony's recovery (chrony 4.3 and 4.8: refclock.c, samplefilt.c,
// sourcestats.c, cmdmon.c): the SOCK refclock collects datagrams in a per-poll filter
// and, at each refclock poll (2^poll s), combines them into one sample for the source's
// statistics; chrony before 4.7 does so only with at least 4 samples in the filter
// (min(filter, 4)), and keeps them for the next poll otherwise. A source is selectable
// only with 3 samples in its statistics (a regression needs 3): 3 refclock polls.
// `reset sources` empties the statistics AND every refclock's per-poll filter (cmdmon.c
// handle_reset_sources: LCL_NotifyExternalTimeStep, an unknown step, on which refclock.c
// drops the filter's samples), and cancels the clock correction still to be slewed.
// So chrony can be right again at the third refclock poll after the reset, provided the
// first of those polls has its 4 samples.
//
// The response: on a disruption the daemon discards its calibration, asks for a reset,
// and sends nothing until the reset is done (a sample sent earlier would be dropped by
// it); then the newest sample of the new clock goes out as a burst of kBurstSamples
// copies, so the next refclock poll has its 4 samples however soon it comes. A start
// sends its first sample the same way (no reset). From a disruption until chrony has had
// kPollsToSelect refclock polls of the new clock the caller samples at least
// kRecoverySamplesPerPoll times per refclock poll, so chrony 4.3 loses no poll even when
// the configured interval gives only 4.
#pragma once

#include <cstdint>

#include "filter/types.h"

namespace vmrefclock {

class HoldOff {
  public:
    // chrony < 4.7 combines a refclock poll's samples only when it has 4 (min(filter, 4)).
    static constexpr int kBurstSamples = 4;
    // Samples per refclock poll while chrony recovers: 2x chrony 4.3's minimum of 4.
    static constexpr int kRecoverySamplesPerPoll = 8;
    // Refclock polls chrony needs before it selects the source again.
    static constexpr int kPollsToSelect = 3;

    enum class Phase {
        starting,         // no sample sent yet: the first goes out as a burst
        resetting,        // disrupted, chrony's reset not done yet: samples are held back
        awaiting_sample,  // reset done: the next sample of the new clock goes out as a burst
        recovering,       // feeding; chrony is selecting the source again
        steady,           // feeding
    };

    // What the caller must do now. All false: nothing.
    struct Actions {
        bool discard_calibration = false;  // empty the estimator window, drop caches
        bool reset_chrony = false;         // run `chronyc reset sources`
        bool resumed = false;              // feeding starts again

        bool any() const { return discard_calibration || reset_chrony || resumed; }
        bool operator==(const Actions&) const = default;
    };

    // Copy k (0 .. n-1) of a burst of n: `sample` moved k - (n-1) microseconds back, so the
    // copies' microsecond times strictly increase, the last is the sample's own and none
    // lies in the future (chrony drops those). The offset is kept: over n us it moves by
    // the clocks' relative frequency only (0.01 ns at 3 ppm).
    static Sample burst_copy(const Sample& sample, int k, int n);

    // One chrony poll interval, 2^poll s, in ns; poll clamped to chrony's -7..24 so
    // the shift neither goes negative nor overflows.
    static int64_t interval_for_poll(int poll);

    // chrony_poll_ns: the refclock's poll interval (see interval_for_poll). Negative is 0.
    explicit HoldOff(int64_t chrony_poll_ns);

    // A disruption at now: {discard the calibration, reset chrony}; nothing is sent until
    // reset_done(). A disruption in any phase starts over (what was learnt since is void).
    Actions start(int64_t now_ns);
    // The reset asked for by start() is done (chronyc answered, or there is no reset to
    // wait for). After it the next sample goes out as a burst. Ignored in other phases.
    void reset_done();
    // Called at the start of every poll: recovering ends kPollsToSelect refclock polls
    // (and a quarter poll for chrony's scheduling) after the burst.
    Actions tick(int64_t now_ns);
    // True when the next sample must go out as a burst of kBurstSamples instead of alone.
    bool wants_burst() const {
        return phase_ == Phase::starting || phase_ == Phase::awaiting_sample;
    }
    // The burst went out at now; `delivered`: chronyd has all of it. Delivered:
    // {resumed} and recovering; otherwise nothing, and the next sample tries again.
    Actions burst_sent(int64_t now_ns, bool delivered);
    // True while samples of the new clock must be held back: chrony's reset would drop them.
    bool holding() const { return phase_ == Phase::resetting; }
    // False until the burst went out: samples are not sent alone.
    bool feeding() const { return phase_ == Phase::recovering || phase_ == Phase::steady; }
    // True from a disruption (or start) until chrony has had its polls of the new clock.
    bool active() const { return phase_ != Phase::steady; }
    // The sampling interval to use now, given the configured one: at most
    // chrony_poll / kRecoverySamplesPerPoll from a disruption until recovered, and after
    // the start's burst (not before it: a chronyd that is down is not polled fast forever).
    int64_t sampling_interval_ns(int64_t configured_ns) const;
    Phase phase() const { return phase_; }
    int64_t chrony_poll_ns() const { return chrony_poll_ns_; }

  private:
    int64_t chrony_poll_ns_;
    Phase phase_ = Phase::starting;
    int64_t end_ns_ = 0;
};

}  // namespace vmrefclock

// HoldOff: the response to a disruption, as a pure state machine over monotonic time.
//
// On a disruption the daemon discards the estimator window (and every cached
// calibration), sends nothing computed before the change, runs `chronyc reset sources`,
// holds off feeding for one chrony poll interval, resets chrony again, then resumes.
// The second reset is needed because `reset sources` does not empty a refclock's
// per-poll filter: samples sent in the poll of the first reset can still count.
// Holding off for a whole poll lets that filter drain before the second reset clears
// what it produced.
#pragma once

#include <cstdint>

namespace vmrefclock {

class HoldOff {
  public:
    // What the caller must do now. All false: nothing.
    struct Actions {
        bool discard_calibration = false;  // empty the estimator window, drop caches
        bool reset_chrony = false;         // run `chronyc reset sources`
        bool resumed = false;              // hold-off over: feeding may start again

        bool any() const { return discard_calibration || reset_chrony || resumed; }
        bool operator==(const Actions&) const = default;
    };

    // One chrony poll interval, 2^poll s, in ns; poll clamped to chrony's -7..24 so
    // the shift neither goes negative nor overflows.
    static int64_t interval_for_poll(int poll);

    // holdoff_ns: one chrony poll interval (see interval_for_poll). Negative is taken as 0.
    explicit HoldOff(int64_t holdoff_ns);

    // A disruption at now: discard the calibration and reset chrony now, then hold off
    // until now + holdoff. A disruption during hold-off restarts it (and asks for the
    // discard and reset again: what was learnt since the first one is void too).
    Actions start(int64_t now_ns);
    // Called every poll. At or after the end of hold-off, once: {reset chrony, resumed}.
    // Otherwise nothing.
    Actions tick(int64_t now_ns);
    // False during hold-off, including after its end time until tick() has reset chrony
    // the second time: feeding before that reset would be wiped by it. now_ns is accepted
    // for callers' convenience; the answer depends only on the state tick() advanced.
    bool feeding(int64_t now_ns) const;
    bool active() const { return active_; }
    // When the hold-off ends (meaningful while active()).
    int64_t end_ns() const { return end_ns_; }
    int64_t holdoff_ns() const { return holdoff_ns_; }

  private:
    int64_t holdoff_ns_;
    bool active_ = false;
    int64_t end_ns_ = 0;
};

}  // namespace vmrefclock

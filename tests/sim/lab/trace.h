// TraceGenerator: a seeded, deterministic stream of Batches exactly as a source would
// deliver them, with the truth (true offset at any system time) kept for scoring.
#pragma once

#include <cstdint>
#include <vector>

#include "filter/types.h"
#include "tests/sim/lab/rng.h"
#include "tests/sim/lab/scenario.h"

namespace vmrefclock::lab {

// Kind of event that happened at the start of a poll.
enum class EventKind { none, disruption, master_step };

class TraceGenerator {
  public:
    TraceGenerator(ScenarioConfig config, uint64_t seed);

    // The next poll's batch. Never fails: a trace is as long as the caller wants.
    const Batch& next();
    // Index of the poll next() returned last (0 for the first).
    int64_t poll() const { return poll_ - 1; }
    // The event that happened at the start of the last poll, if any.
    EventKind event() const { return event_; }

    // True offset (reference - system, ns) at system time t, for any t of the polls
    // generated so far (before the first poll: extrapolated back from it). This is the
    // host's true clock: the published clock's re-anchoring error is not part of it,
    // while master-clock steps are (the reference really moved; we must follow).
    double truth(int64_t t_ns) const;
    // The last poll's true clock (its anchor's line) at t, also for t a little before the
    // poll began: an event steps the truth between polls, and a time inside the poll
    // floored to the microsecond (chrony's tv) must not fall back onto the old clock.
    double truth_in_last_poll(int64_t t_ns) const;
    // When the last poll began (its anchor: its first reading starts there).
    int64_t poll_start_ns() const { return anchors_.empty() ? 0 : anchors_.back().t_ns; }
    // True frequency (ppm) during the last poll.
    double truth_freq_ppm() const { return freq_ppm_; }

    const ScenarioConfig& config() const { return config_; }

  private:
    struct Anchor {
        int64_t t_ns;
        double offset_ns;
        double freq_ppm;
    };
    void advance_clock();
    void make_readings();

    ScenarioConfig config_;
    Rng rng_;
    int64_t poll_ = 0;
    int64_t poll_time_ns_ = 0;  // nominal time of the next poll
    double offset_ns_;
    double freq_walk_ppm_;
    double freq_ppm_;
    double host_error_ns_ = 0;
    double next_host_update_s_ = 0;
    uint64_t marker_ = 1;
    int disruptions_ = 0;
    int master_steps_ = 0;
    EventKind event_ = EventKind::none;
    std::vector<Anchor> anchors_;
    Batch batch_;
};

}  // namespace vmrefclock::lab

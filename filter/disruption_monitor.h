// DisruptionMonitor: notices, from the host's published metadata, that everything
// learnt about the clock so far is void.
//
// vmclock announces a disruption by changing a value rather than setting a flag, so the
// monitor compares each observation with the previous one. A change of
// disruption_marker means the counter was disrupted (live migration); a change of
// vm_generation means the VM was restored from a snapshot; clock_status turning
// unreliable means the host itself no longer vouches for its time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "filter/types.h"

namespace vmrefclock {

struct Disruption {
    enum class Cause {
        marker,      // disruption_marker changed: migration, counter disrupted
        generation,  // vm_generation changed: restored from a snapshot
        unreliable,  // clock_status became unreliable
        step,        // the offset stepped far outside the prediction (step_detector.h)
        suspend,     // CLOCK_BOOTTIME - CLOCK_MONOTONIC jumped: guest suspended
        frequency,   // the frequency moved beyond a bound (frequency_change_detector.h)
        manual,      // an operator asked for it (vmrefclockctl reset)
    };
    Cause cause;
    std::string detail;  // for the log and the status socket
};

const char* to_string(Disruption::Cause cause);

class DisruptionMonitor {
  public:
    // The disruption this observation reveals, if any. The first observation (and the
    // first after forget()) only sets the baseline: there is nothing to compare with.
    // When several things changed at once, one Disruption is reported, by priority
    // generation > marker > unreliable (a restore implies the rest), and its detail
    // mentions every change.
    std::optional<Disruption> observe(const HostInfo& host);

    // Back to "never observed", e.g. when the source was reopened: the next observation
    // is a new baseline, not a comparison with a page that may no longer exist.
    void forget();

  private:
    bool seen_ = false;
    uint64_t marker_ = 0;
    // The last generation seen. Kept while a page omits the field, so that a value that
    // disappears and comes back changed is still a restore.
    std::optional<uint64_t> generation_;
    ClockStatus status_ = ClockStatus::unknown;
};

}  // namespace vmrefclock

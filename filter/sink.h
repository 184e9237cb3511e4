// Where the engine's outcomes go: one small interface every sink implements directly
// (chrony's SOCK refclock, the bounded-time segment, any later one), and the one that
// resets chrony. In the core's vocabulary only, so ipc/ implements them and the daemon
// holds them as a list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "filter/engine_state.h"
#include "filter/holdoff.h"
#include "filter/result.h"
#include "filter/types.h"

namespace vmrefclock {

// A sink as the status reports it; every sink the same way.
struct SinkStatus {
    std::string name;      // "chrony", "clockbound"
    std::string target;    // its socket or file
    std::string state;     // a word or two: "connected", "waiting for chronyd", "writing"
    bool healthy = false;  // connected (chrony), writing (clockbound)
    std::optional<std::string> last_error;  // none since the last delivery that worked
    uint64_t sent = 0;                      // deliveries that reached it
    std::optional<uint64_t> dropped;        // deliveries it dropped; none: it never drops
    bool operator==(const SinkStatus&) const = default;
};

// What every sink receives, after each poll and when the state changes between polls
// (a disruption found by the watch, chrony's reset done).
struct SinkUpdate {
    // The sample for the clock's discipline, sent now as `copies` copies (more than one:
    // a burst, HoldOff::burst_copy); null when there is nothing to send.
    const Sample* sample = nullptr;
    int copies = 0;
    // From here on, set for the sinks served after the clock sinks (they see the clock
    // sinks' verdict):
    // this poll's trusted measurement (sent, or held back by the hold-off only) and the
    // model behind it; null between polls or when the poll produced none;
    const Sample* measured = nullptr;
    const Estimate* estimate = nullptr;
    // a clock sink took `sample`;
    bool fed_clock = false;
    DaemonState state = DaemonState::starting;
    uint64_t disruptions = 0;                   // so far: a change is a new disruption
    std::optional<uint64_t> disruption_marker;  // the vmclock page's, when one is read
    int64_t now_mono_ns = 0;
    int64_t now_real_ns = 0;
    int64_t now_coarse_mono_ns = 0;  // CLOCK_MONOTONIC_COARSE
};

class Sink {
  public:
    virtual ~Sink() = default;
    // True for a sink that disciplines the clock (chrony): it receives each update
    // first, and whether it took the sample decides whether the sample counts as sent.
    virtual bool feeds_clock() const { return false; }
    // One update. Fails with a message naming the sink's target; no allocation when it
    // succeeds. Never blocks.
    virtual Status deliver(const SinkUpdate& update) = 0;
    virtual SinkStatus status() const = 0;
};

// For a clock sink: send(sample) for each copy of the update's sample (of a burst:
// HoldOff::burst_copy), stopping at the first failure.
template <typename Send>
Status send_copies(const SinkUpdate& update, Send&& send) {
    if (update.sample == nullptr) return Ok{};
    if (update.copies == 1) return send(*update.sample);
    for (int k = 0; k < update.copies; ++k) {
        Status sent = send(HoldOff::burst_copy(*update.sample, k, update.copies));
        if (!sent) return sent;
    }
    return Ok{};
}

// Makes chrony forget its measurements ("chronyc reset sources").
class ChronyResetter {
  public:
    virtual ~ChronyResetter() = default;
    virtual bool enabled() const = 0;
    // Starts a reset and returns at once; its owner reports the end to
    // Pipeline::chrony_reset_done.
    virtual void request_reset(std::string_view reason) = 0;
};

}  // namespace vmrefclock

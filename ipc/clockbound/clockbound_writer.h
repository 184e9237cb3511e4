// The bounded-time sink: publishes a bound on CLOCK_REALTIME's error in AWS ClockBound's
// v2 shared-memory segment (clockbound/clockbound_shm.h), once per poll, for
// applications that read it with a ClockBound client or clockbound/clockbound_client.h.
//
// One entry of the daemon's list of sinks (filter/sink.h): fed values only.
//
// What is written, and why it holds: filter/time_bound.h. disruption_marker and
// clock_disruption_support_enabled: the vmclock page's marker, when the daemon reads a page.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "clockbound/clockbound_shm.h"
#include "filter/result.h"
#include "filter/sink.h"
#include "filter/time_bound.h"

namespace vmrefclock {

struct BoundInput {
    int64_t now_coarse_mono_ns = 0;  // CLOCK_MONOTONIC_COARSE now
    DaemonState state = DaemonState::starting;
    bool fed_chrony = false;                    // this poll's sample reached chrony
    uint64_t disruptions = 0;                   // count so far: a change is a new disruption
    std::optional<BoundMeasurement> fresh;      // this poll's, when it produced one
    std::optional<uint64_t> disruption_marker;  // the vmclock page's, when one is read
};

// The segment's input from a sink update: a fresh bound when the poll produced a trusted
// sample, from the model behind it with its hard (worst-case) bound rather than the
// statistical one chrony is sent.
BoundInput bound_input(const SinkUpdate& update);

class ClockBoundWriter final : public Sink {
  public:
    static constexpr int64_t kVoidAfterNs = 1000'000'000'000;
    // A valid, unlocked segment younger than this is watched for kLiveWriterWatchNs
    // before it is reused: if its generation moves, another writer owns it.
    static constexpr int64_t kLiveWriterAgeNs = 5'000'000'000;
    static constexpr int64_t kLiveWriterWatchNs = 1'500'000'000;

    // Opens (creating the directory and file if needed) and locks `path`. A valid v2
    // segment is reused with its generation (warm restart: readers keep working); any
    // other content is rewritten as an unusable segment (version 0, generation 0) and
    // then marked version 2. Fails when another process holds the lock, or keeps
    // writing a recent segment without one (clockbound-d): it is never clobbered.
    static Result<std::unique_ptr<ClockBoundWriter>> open(const std::string& path);
    ~ClockBoundWriter() override;
    ClockBoundWriter(const ClockBoundWriter&) = delete;
    ClockBoundWriter& operator=(const ClockBoundWriter&) = delete;

    // One write of the segment. No allocation, no system call but the clock reads
    // already in `in`.
    void publish(const BoundInput& in);

    // Sink: publish(bound_input(update)).
    Status deliver(const SinkUpdate& update) override;
    SinkStatus status() const override;

    bool warm_restart() const { return warm_; }
    const std::string& path() const { return path_; }
    // What the last publish wrote, for logs and tests.
    const vmr_cb_body& last_written() const { return last_; }

  private:
    ClockBoundWriter(std::string path, int fd, vmr_cb_segment* segment, bool warm,
                     int64_t coarse_res_ns);
    void write_body(const vmr_cb_body& body);

    std::string path_;
    int fd_ = -1;
    vmr_cb_segment* segment_ = nullptr;
    bool warm_ = false;
    int64_t coarse_res_ns_ = 0;
    vmr_cb_body last_{};
    TimeBound bound_;
    uint64_t published_ = 0;
};

}  // namespace vmrefclock

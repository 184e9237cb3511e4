// The bound on CLOCK_REALTIME's error that applications read (the ClockBound segment),
// worked out from the daemon's measurement of the system clock against the host. Pure:
// values in, the bound and status to publish out; the writer only stores them.
//
// What is published (all "at as_of", the CLOCK_MONOTONIC_COARSE time of the write):
//   bound_ns      = |offset| + error + max_drift * (measurement age + coarse resolution)
//                   offset: the filter's model of reference - system; error: its
//                   worst-case bound (the readings' half-delays through the fit + 3
//                   standard errors + the host's published time_maxerror), not the tighter
//                   statistical one chrony is sent: a published bound must hold in every
//                   read. The age/resolution term covers the time from the measurement to
//                   as_of and the reader's coarse clock trailing by up to one tick.
//                   After a disruption and before a measurement of the new clock:
//                   kUnknownBoundNs. The old clock's bound says nothing about the new
//                   one (a migration steps the host's time by any amount), and a reader
//                   adding drift to it would be told a wrong interval.
//   max_drift_ppb = |frequency| + 3 sigma(frequency) + kDriftMarginPpb: how fast
//                   |offset| can grow once the bound is taken; with fewer than three
//                   samples (no sigma yet) kUnknownDriftPpb instead.
//   status        unknown before the first bound and while the host gives no usable
//                 time; synchronized when this poll's fresh bound went with a sample to
//                 chrony (also while chrony re-selects the source after a disruption: the
//                 bound is a measurement of the new clock, so it holds); disrupted from a
//                 disruption until then; free_running otherwise (degraded, no source):
//                 as_of stays at the last bound, so it grows by the drift in every reader.
#pragma once

#include <cstdint>
#include <optional>

namespace vmrefclock {

// One poll's measurement of the system clock against the host.
struct BoundMeasurement {
    double offset_ns = 0;      // reference - system at the measurement
    double error_ns = 0;       // bound on |true offset - offset_ns|, host maxerror included
    int64_t age_ns = 0;        // from the measurement to now (CLOCK_REALTIME)
    double frequency_ppm = 0;  // d offset / dt
    std::optional<double> frequency_stddev_ppm;  // nullopt: too few samples to know
};

// ClockBound's clock_status values.
enum class BoundStatus : int32_t { unknown = 0, synchronized = 1, free_running = 2, disrupted = 3 };

struct TimeBoundInput {
    int64_t now_coarse_mono_ns = 0;         // CLOCK_MONOTONIC_COARSE now
    int64_t coarse_resolution_ns = 0;       // its tick: how far a reader's coarse clock trails
    bool host_usable = false;               // false: starting, or the host gives no usable UTC
    bool holdoff = false;                   // the daemon is in its post-disruption hold-off
    bool fed_chrony = false;                // this poll's sample reached chrony
    uint64_t disruptions = 0;               // count so far: a change is a new disruption
    std::optional<BoundMeasurement> fresh;  // this poll's, when it produced one
};

struct PublishedBound {
    int64_t as_of_coarse_mono_ns = 0;
    int64_t bound_ns = 0;
    uint32_t max_drift_ppb = 0;
    BoundStatus status = BoundStatus::unknown;
};

class TimeBound {
  public:
    // Margin on the drift rate for what the fit cannot see: chrony changing the clock's
    // frequency and slewing between two polls (typically tens of ppb).
    static constexpr double kDriftMarginPpb = 1000;
    // The drift rate assumed while the fit has no slope uncertainty yet (just after a
    // start or a disruption): [disruption] frequency_bound_ppm's default.
    static constexpr double kUnknownDriftPpb = 50'000;
    // "No bound": about 11.6 days, far beyond any clock step a host makes, yet small
    // enough that no reader's arithmetic (bound + drift over void_after) overflows.
    static constexpr int64_t kUnknownBoundNs = 1'000'000'000'000'000;
    // ClockBound's limit: max_drift_ppb < 1e9.
    static constexpr uint32_t kMaxDriftPpb = 999'999'999;

    // The bound and status to publish now. Keeps what it needs of earlier calls (the
    // last bound, whether a disruption is still unresolved).
    const PublishedBound& update(const TimeBoundInput& in);
    const PublishedBound& last() const { return last_; }

  private:
    PublishedBound last_{};
    bool have_bound_ = false;
    bool disrupted_ = false;
    uint64_t seen_disruptions_ = 0;
    bool seen_any_ = false;
};

}  // namespace vmrefclock

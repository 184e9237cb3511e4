// The values that flow through the pipeline: Reading -> Batch -> Sample -> Estimate.
// Time points are int64 nanoseconds of CLOCK_REALTIME; offsets are reference - system.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmrefclock {

// One interleaved read: system clock before, reference (UTC), system clock after.
// A cross-timestamp (PTP_SYS_OFFSET_PRECISE) has sys_pre_ns == sys_post_ns.
struct Reading {
    int64_t sys_pre_ns = 0;
    int64_t ref_ns = 0;
    int64_t sys_post_ns = 0;

    int64_t delay_ns() const { return sys_post_ns - sys_pre_ns; }
    // Midpoint without overflow for any pair of int64 time points.
    int64_t sys_mid_ns() const { return sys_pre_ns + (sys_post_ns - sys_pre_ns) / 2; }
    int64_t offset_ns() const { return ref_ns - sys_mid_ns(); }
};

enum class ClockStatus : uint8_t {
    unknown = 0,
    initializing = 1,
    synchronized = 2,
    freerunning = 3,
    unreliable = 4,
};

enum class Maintenance { none, soon, imminent };

// Leap second announcement in the form chrony's SOCK refclock takes.
enum class Leap : int { none = 0, insert = 1, remove = 2 };

// What the host publishes beside its clock (the vmclock page), read in the same
// seqcount-consistent snapshot as the readings.
struct HostInfo {
    uint64_t disruption_marker = 0;
    std::optional<uint64_t> vm_generation;  // only when the page has the field and flag
    ClockStatus clock_status = ClockStatus::unknown;
    uint64_t flags = 0;
    uint8_t leap_indicator = 0;  // raw vmclock value
    Leap leap = Leap::none;      // the announcement as chrony takes it
    std::optional<uint64_t> time_esterror_ns;
    std::optional<uint64_t> time_maxerror_ns;
    Maintenance maintenance = Maintenance::none;
};

// A vmclock page's counter period beside the guest's own measurement of the same counter
// (against CLOCK_MONOTONIC_RAW), for the counter-rate plausibility gate.
struct CounterRateCheck {
    double page_period_s = 0;         // of the read in the batch farthest from the measurement
    double measured_hz = 0;           // the guest's measurement of its counter
    double measured_uncertainty = 0;  // relative (1e-6 = 1 ppm)
};

// One poll's worth of data from a source.
struct Batch {
    std::vector<Reading> readings;
    int64_t precision_ns = 1;  // resolution of one reading, lower bound of any error
    std::optional<HostInfo> host;
    // Set when the source is present but cannot give UTC now (marker-only page,
    // TAI without offset, monotonic or smeared time); readings are then empty.
    std::string unusable_reason;
    // Set by a source that publishes a counter period (the vmclock page).
    std::optional<CounterRateCheck> counter_rate;

    // Empty again for the next poll; the readings keep their capacity (no allocation).
    void clear() {
        readings.clear();
        precision_ns = 1;
        host.reset();
        unusable_reason.clear();
        counter_rate.reset();
    }
};

// One filtered measurement per poll, the unit sent to chrony.
struct Sample {
    int64_t time_ns = 0;   // system time of the measurement
    double offset_ns = 0;  // reference - system at time_ns
    int64_t delay_ns = 0;  // delay of the readings that made it
    int64_t error_ns = 0;  // error bound of this sample
    int readings_used = 0;
    Leap leap = Leap::none;
};

// The estimator's model of reference - system over its window.
struct Estimate {
    int64_t time_ns = 0;       // the time the offset refers to
    double offset_ns = 0;      // reference - system at time_ns
    double frequency_ppm = 0;  // d(offset)/dt * 1e6
    // Standard error of frequency_ppm; nullopt when the fit cannot tell (too few samples).
    std::optional<double> frequency_stddev_ppm;
    double stddev_ns = 0;       // residual standard deviation of the fit
    double error_bound_ns = 0;  // bound on |true offset - offset_ns|
    // The same in its worst-case form (the readings' half-delays through the fit + 3
    // standard errors, the host's error, precision), when error_bound_ns is statistical:
    // for consumers that promise a hard bound (the bounded-time segment).
    std::optional<double> worst_case_bound_ns;
    int samples = 0;  // samples in the window
};

}  // namespace vmrefclock

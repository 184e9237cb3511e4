// Clock lab scenarios: everything that shapes a trace, as plain numbers.
//
// The model, in system time t (the guest's CLOCK_REALTIME, ns):
//   true offset(t) = reference - system, piecewise linear between polls; its frequency
//   (ppm) is a random walk plus an optional sinusoid (temperature), and events step it.
// A reading is [pre, ref, post]: the reference is read at some instant inside the
// reading; the further that instant is from the midpoint, the larger the midpoint's
// error (up to half the delay). Preemption adds a spike to the delay, split before/after
// the reference read: split uniformly (a symmetric spread) or wholly on one side
// (asymmetric: the midpoint is biased by half the spike).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmrefclock::lab {

struct ScenarioConfig {
    std::string name;
    std::string description;

    // 2026-06-21T00:00:00Z, a realistic CLOCK_REALTIME value (~1.8e18 ns).
    int64_t start_ns = 1'782'000'000'000'000'000;
    double poll_interval_s = 1.0;
    double timer_jitter_ns = 20'000;  // when the poll's timer fires, beyond the interval
    int readings = 10;
    // PTP_SYS_OFFSET (basic) interleaves sys/phc: one reading's post is the next one's pre.
    bool shared_timestamps = false;
    double gap_ns = 20;  // between readings when not shared

    // Delay of an undisturbed reading: floor + exponential jitter.
    double delay_floor_ns = 30;
    double delay_jitter_ns = 5;
    // Where inside the undisturbed part the reference is read: N(0.5, sigma), in [0, 1].
    double ref_position_sigma = 0.1;

    // Preemption spikes, per reading: Pareto(min, shape) capped at max.
    double spike_prob = 0.0;
    double busy_poll_prob = 0.0;   // polls during which the host is busy ...
    double busy_spike_prob = 0.0;  // ... and spikes are this likely
    double spike_min_ns = 1'000;
    double spike_shape = 1.2;
    double spike_max_ns = 400'000;
    bool spike_one_sided = false;    // whole spike before or after the reference read
    double spike_before_prob = 0.5;  // one-sided: P(spike before the read: reference late)

    // The true clock.
    double initial_offset_ns = 12'345;
    double initial_freq_ppm = 3.0;
    double freq_walk_ppm_per_sqrt_s = 1e-5;
    double freq_sine_ppm = 0.0;
    double freq_sine_period_s = 1'800;

    // Host metadata (vmclock page). Without it (ptp_kvm) the batch carries no HostInfo.
    bool host_info = true;
    double host_update_interval_s = 8;  // the host re-anchors its published clock ...
    double host_step_ns = 10;           // ... with an error uniform in +-this
    uint64_t host_maxerror_ns = 50;     // published time_maxerror, >= that error

    // Disruptions (live migration): step + frequency change, marker changes.
    double disruption_interval_s = 0;  // 0: none; else at (k + 0.5) * interval
    double disruption_step_min_ns = 50'000;
    double disruption_step_max_ns = 2'000'000;
    double disruption_freq_min_ppm = 2;
    double disruption_freq_max_ppm = 20;
    // The host's master clock steps (no marker); the reference follows, alternating sign.
    double master_step_interval_s = 0;  // 0: none; else at (k + 0.5) * interval
    double master_step_ns = 4'500'000;

    // A sample within this of the truth counts as recovered after an event.
    double recovery_tolerance_ns = 1'000;
};

// The six scenarios of the lab table, in table order.
std::vector<ScenarioConfig> standard_scenarios();
// One by name; throws std::out_of_range for an unknown name (lab code, not the daemon).
ScenarioConfig scenario_by_name(const std::string& name);

}  // namespace vmrefclock::lab

#include "tests/sim/lab/scenario.h"

#include <stdexcept>

namespace vmrefclock::lab {

namespace {

// vmclock: a page read between two vDSO clock_gettime calls; ~30 ns, rare interrupts.
ScenarioConfig clean_vmclock() {
    ScenarioConfig c;
    c.name = "clean-vmclock";
    c.description = "vmclock reads (30 ns floor), rare interrupts, host re-anchoring +-10 ns";
    c.spike_prob = 0.002;
    c.spike_min_ns = 1'000;
    return c;
}

// ptp_kvm: each PHC read is a KVM_HC_CLOCK_PAIRING hypercall, 1-2 µs, and where in the
// VM exit the host reads its clock varies; a busy host preempts the vCPU mid-read.
ScenarioConfig noisy_hypercall() {
    ScenarioConfig c;
    c.name = "noisy-hypercall";
    c.description = "ptp_kvm hypercalls (1 µs + exp 300 ns), 10% spikes, busy polls";
    c.host_info = false;
    c.shared_timestamps = true;
    c.delay_floor_ns = 1'000;
    c.delay_jitter_ns = 300;
    c.ref_position_sigma = 0.08;
    c.spike_prob = 0.10;
    c.busy_poll_prob = 0.05;
    c.busy_spike_prob = 0.8;
    c.spike_min_ns = 2'000;
    c.spike_shape = 1.1;
    return c;
}

// The same hypercall where interrupts land mostly before the host reads its clock
// (between the guest's first timestamp and the VM exit): the midpoint is biased early.
ScenarioConfig asymmetric_spikes() {
    ScenarioConfig c = noisy_hypercall();
    c.name = "asymmetric-spikes";
    c.description = "hypercalls with one-sided spikes (90% before the read), from 300 ns";
    c.spike_prob = 0.25;
    c.spike_min_ns = 300;
    c.spike_shape = 1.3;
    c.spike_one_sided = true;
    c.spike_before_prob = 0.9;
    return c;
}

// Strong oscillator wander: a random-walk frequency plus a temperature cycle.
ScenarioConfig wander() {
    ScenarioConfig c = clean_vmclock();
    c.name = "wander";
    c.description = "vmclock with frequency random walk 2e-4 ppm/sqrt(s) + 0.1 ppm cycle";
    c.freq_walk_ppm_per_sqrt_s = 2e-4;
    c.freq_sine_ppm = 0.1;
    c.freq_sine_period_s = 1'800;
    return c;
}

// Live migration every 4 h: the clock steps and changes frequency, the marker changes.
ScenarioConfig disruption() {
    ScenarioConfig c = clean_vmclock();
    c.name = "disruption";
    c.description = "vmclock, live migration every 4 h (step 50 µs-2 ms, 2-20 ppm)";
    c.spike_prob = 0.01;
    c.disruption_interval_s = 4 * 3600;
    return c;
}

// The host's master clock steps by 4.5 ms with no marker (seen in the field).
ScenarioConfig master_clock_step() {
    ScenarioConfig c = clean_vmclock();
    c.name = "master-step";
    c.description = "vmclock, host master clock steps +-4.5 ms every 6 h, no marker";
    c.master_step_interval_s = 6 * 3600;
    return c;
}

}  // namespace

std::vector<ScenarioConfig> standard_scenarios() {
    return {clean_vmclock(), noisy_hypercall(), asymmetric_spikes(),
            wander(),        disruption(),      master_clock_step()};
}

ScenarioConfig scenario_by_name(const std::string& name) {
    for (ScenarioConfig& c : standard_scenarios()) {
        if (c.name == name) return c;
    }
    throw std::out_of_range("unknown lab scenario: " + name);
}

}  // namespace vmrefclock::lab

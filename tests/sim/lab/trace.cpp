#include "tests/sim/lab/trace.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace vmrefclock::lab {

TraceGenerator::TraceGenerator(ScenarioConfig config, uint64_t seed)
    : config_(std::move(config)),
      rng_(seed),
      poll_time_ns_(config_.start_ns),
      offset_ns_(config_.initial_offset_ns),
      freq_walk_ppm_(config_.initial_freq_ppm),
      freq_ppm_(config_.initial_freq_ppm) {
    batch_.precision_ns = 1;
    // A day of 1 Hz polls: reserve once instead of growing 17 times.
    anchors_.reserve(1 << 17);
}

double TraceGenerator::truth(int64_t t_ns) const {
    if (anchors_.empty()) return offset_ns_;
    auto it = std::upper_bound(anchors_.begin(), anchors_.end(), t_ns,
                               [](int64_t t, const Anchor& a) { return t < a.t_ns; });
    const Anchor& a = (it == anchors_.begin()) ? *it : *(it - 1);
    return a.offset_ns + a.freq_ppm * 1e-6 * static_cast<double>(t_ns - a.t_ns);
}

double TraceGenerator::truth_in_last_poll(int64_t t_ns) const {
    if (anchors_.empty()) return offset_ns_;
    const Anchor& a = anchors_.back();
    return a.offset_ns + a.freq_ppm * 1e-6 * static_cast<double>(t_ns - a.t_ns);
}

// Moves the true clock from the previous poll to this one and applies any event.
void TraceGenerator::advance_clock() {
    const double dt_s = config_.poll_interval_s;
    const double t_s = static_cast<double>(poll_) * dt_s;
    int64_t t_ns = poll_time_ns_ + static_cast<int64_t>(rng_.uniform(0, config_.timer_jitter_ns));
    if (!anchors_.empty()) {
        const Anchor& prev = anchors_.back();
        offset_ns_ = prev.offset_ns + prev.freq_ppm * 1e-6 * static_cast<double>(t_ns - prev.t_ns);
        freq_walk_ppm_ += config_.freq_walk_ppm_per_sqrt_s * std::sqrt(dt_s) * rng_.normal();
    }

    event_ = EventKind::none;
    if (config_.disruption_interval_s > 0 &&
        t_s >= (disruptions_ + 0.5) * config_.disruption_interval_s) {
        ++disruptions_;
        ++marker_;
        const double sign_step = rng_.chance(0.5) ? 1.0 : -1.0;
        const double sign_freq = rng_.chance(0.5) ? 1.0 : -1.0;
        offset_ns_ += sign_step *
                      rng_.uniform(config_.disruption_step_min_ns, config_.disruption_step_max_ns);
        freq_walk_ppm_ += sign_freq * rng_.uniform(config_.disruption_freq_min_ppm,
                                                   config_.disruption_freq_max_ppm);
        event_ = EventKind::disruption;
    }
    if (config_.master_step_interval_s > 0 &&
        t_s >= (master_steps_ + 0.5) * config_.master_step_interval_s) {
        offset_ns_ += (master_steps_ % 2 == 0 ? 1.0 : -1.0) * config_.master_step_ns;
        ++master_steps_;
        event_ = EventKind::master_step;
    }
    // The host re-anchors its published clock (vmclock page update): a small step of
    // the published error, which is not part of the truth.
    if (config_.host_info && t_s >= next_host_update_s_) {
        host_error_ns_ = rng_.uniform(-config_.host_step_ns, config_.host_step_ns);
        next_host_update_s_ = t_s + config_.host_update_interval_s;
    }
    // The sinusoid is sampled once per poll: the truth is piecewise linear.
    freq_ppm_ = freq_walk_ppm_;
    if (config_.freq_sine_ppm != 0.0) {
        freq_ppm_ +=
            config_.freq_sine_ppm * std::sin(6.283185307179586 * t_s / config_.freq_sine_period_s);
    }
    anchors_.push_back(Anchor{t_ns, offset_ns_, freq_ppm_});
}

void TraceGenerator::make_readings() {
    const ScenarioConfig& c = config_;
    const Anchor& a = anchors_.back();
    const bool busy = c.busy_poll_prob > 0 && rng_.chance(c.busy_poll_prob);
    const double spike_prob = busy ? c.busy_spike_prob : c.spike_prob;

    batch_.readings.resize(static_cast<size_t>(std::max(c.readings, 0)));
    int64_t cursor = a.t_ns;
    for (Reading& r : batch_.readings) {
        const double base = c.delay_floor_ns + rng_.exponential(c.delay_jitter_ns);
        const double pos = std::clamp(0.5 + c.ref_position_sigma * rng_.normal(), 0.0, 1.0);
        double spike = 0;
        double before = 0;  // part of the spike before the reference read
        if (spike_prob > 0 && rng_.chance(spike_prob)) {
            spike = std::min(rng_.pareto(c.spike_min_ns, c.spike_shape), c.spike_max_ns);
            if (c.spike_one_sided) {
                before = rng_.chance(c.spike_before_prob) ? spike : 0.0;
            } else {
                before = spike * rng_.unit();
            }
        }
        const auto delay = static_cast<int64_t>(std::llround(base + spike));
        const double read_at = pos * base + before;  // ns after pre
        r.sys_pre_ns = cursor;
        r.sys_post_ns = cursor + std::max<int64_t>(delay, 0);
        const double t_read = static_cast<double>(cursor - a.t_ns) + read_at;  // since anchor
        const double off = a.offset_ns + a.freq_ppm * 1e-6 * t_read + host_error_ns_;
        r.ref_ns = cursor + static_cast<int64_t>(std::llround(read_at + off));
        cursor = r.sys_post_ns +
                 (c.shared_timestamps ? 0 : static_cast<int64_t>(std::llround(c.gap_ns)));
    }

    if (c.host_info) {
        HostInfo h;
        h.disruption_marker = marker_;
        h.clock_status = ClockStatus::synchronized;
        h.time_maxerror_ns = c.host_maxerror_ns;
        h.time_esterror_ns = c.host_maxerror_ns / 4;
        batch_.host = h;
    } else {
        batch_.host.reset();
    }
}

const Batch& TraceGenerator::next() {
    advance_clock();
    make_readings();
    ++poll_;
    poll_time_ns_ += static_cast<int64_t>(std::llround(config_.poll_interval_s * 1e9));
    return batch_;
}

}  // namespace vmrefclock::lab

// The simulated host: its clock model truth(R) = R + offset + freq_ppm * 1e-6 * (R - R0) over
// CLOCK_REALTIME R, the page fields that describe it, the events that change it, and the truth
// file that tells tests what was injected.
//
// Truth file (key=value lines, replaced atomically after every update and event):
//   realtime_ns=<CLOCK_REALTIME of the update>   offset_ns=<truth - R there, no jitter; UTC
//   even on TAI pages>   freq_ppm=<rate now>   disruptions=<marker changes so far>
//   marker=<disruption_marker, decimal>   generation=<vm_generation_counter>   status=<0..4>
//   disruption_mono_ns=<CLOCK_MONOTONIC right after the page with the latest disruption's
//   marker was written; 0 before any>
// so truth(T) = T + offset_ns + freq_ppm * 1e-6 * (T - realtime_ns) until the next event.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "tests/sim/vmclock_sim/abi.hpp"
#include "tests/sim/vmclock_sim/options.hpp"
#include "tests/sim/vmclock_sim/page_writer.hpp"
#include "tests/sim/vmclock_sim/scenario.hpp"
#include "tests/sim/vmclock_sim/tsc.hpp"

namespace vmrefclock::sim {

class Host {
  public:
    // Calibrates the counter (~100 ms), then creates the page and the truth file.
    explicit Host(const Options& opts);
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // Applies `events` (may be empty) at one fresh (counter, CLOCK_REALTIME) instant, then
    // republishes the page and rewrites the truth file. t_s (seconds since start) is only for
    // the printed event lines.
    void update(const Event* events, std::size_t n, double t_s);

    long double counter_hz() const { return calib_.hz(); }
    std::uint64_t marker() const { return state_.disruption_marker; }

  private:
    // truth(R) - R in seconds, without jitter.
    long double offset_at(std::int64_t realtime_ns) const;
    void apply(const Event& e, std::int64_t realtime_ns, double t_s);
    std::uint64_t new_marker();
    void compose(const CounterPair& now);
    void write_truth(std::int64_t realtime_ns) const;
    // A corrupt event's start and end, and the page as published while one is active.
    void corrupt(const Event& e, bool start, double t_s);
    VmclockAbi published() const;

    Options opts_;
    CounterCalibrator calib_;
    std::mt19937_64 rng_;
    std::set<std::uint64_t> used_markers_;

    // Clock model: offset_s_ at realtime r0_ns_, then freq_ppm_.
    long double offset_s_ = 0;
    std::int64_t r0_ns_ = 0;
    double freq_ppm_ = 0;
    std::uint64_t disruptions_ = 0;
    std::int64_t disruption_mono_ns_ = 0;  // when the latest disruption's page was written

    VmclockAbi state_{};  // everything that is not recomputed from the clock model
    std::optional<PageWriter> page_;
    std::optional<Event> corruption_;  // the corrupt event in force
    int notify_fd_ = -1;  // --notify-fifo, kept open read-write so it never blocks or hangs up
};

}  // namespace vmrefclock::sim

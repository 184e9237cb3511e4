// The guest-visible hardware counter the simulated page is expressed in (x86 TSC, or the ARM
// virtual counter as a courtesy), and its frequency measured against CLOCK_MONOTONIC_RAW.
#pragma once

#include <time.h>

#include <cstdint>

namespace vmrefclock::sim {

// The page's counter_id for the counter read_counter() returns.
std::uint8_t native_counter_id();

// One serialised read of the counter (lfence-ordered rdtsc, or isb + cntvct_el0).
std::uint64_t read_counter();

// A counter value and a clock reading taken at (nearly) the same instant.
struct CounterPair {
    std::uint64_t counter = 0;  // midpoint of the two counter reads around the clock read
    std::int64_t clock_ns = 0;
    std::uint64_t bracket = 0;  // ticks between the two counter reads: the pairing uncertainty
};

// Several (counter, clock, counter) sandwiches; returns the one with the shortest bracket, the
// one least likely to have been split by an interrupt or a vCPU preemption.
CounterPair tight_pair(clockid_t clock, int tries = 15);

// Counter frequency against CLOCK_MONOTONIC_RAW (not CLOCK_REALTIME, which can be slewed or
// stepped): one short initial measurement, then refined on the whole baseline since start at
// every update so the rate error keeps shrinking as 1/elapsed.
class CounterCalibrator {
  public:
    // Blocks for about initial_ms milliseconds.
    void start(int initial_ms = 100);
    void refine();
    long double hz() const { return hz_; }
    // Seconds of baseline behind hz().
    double baseline_s() const { return baseline_s_; }

  private:
    CounterPair base_{};
    long double hz_ = 0;
    double baseline_s_ = 0;
};

}  // namespace vmrefclock::sim

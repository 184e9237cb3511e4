// Deterministic random numbers for the clock lab: the same seed gives the same trace on
// every standard library (std::*_distribution are implementation-defined, so not used).
#pragma once

#include <cmath>
#include <cstdint>

namespace vmrefclock::lab {

class Rng {
  public:
    explicit Rng(uint64_t seed) : s_(seed ^ 0x6a09e667f3bcc909ULL) {}

    // SplitMix64: tiny, fast, and good enough for simulation noise.
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // [0, 1)
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * unit(); }
    bool chance(double p) { return unit() < p; }
    // Box-Muller; the spare value is dropped to keep the stream position simple.
    double normal() {
        const double u1 = 1.0 - unit();  // (0, 1]: log() stays finite
        const double u2 = unit();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    double exponential(double mean) { return -mean * std::log(1.0 - unit()); }
    // Pareto with scale xmin and shape alpha: the heavy tail of preemption delays.
    double pareto(double xmin, double alpha) { return xmin / std::pow(1.0 - unit(), 1.0 / alpha); }

  private:
    uint64_t s_;
};

}  // namespace vmrefclock::lab

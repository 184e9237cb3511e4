#include "tests/sim/vmclock_sim/tsc.hpp"

#include <cerrno>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "tests/sim/vmclock_sim/abi.hpp"

namespace vmrefclock::sim {

namespace {

std::int64_t now_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

#if defined(__x86_64__) || defined(__i386__)

std::uint8_t native_counter_id() {
    return kCounterX86Tsc;
}

std::uint64_t read_counter() {
    // lfence before: earlier instructions (the clock read we bracket) have completed; lfence
    // after: later ones do not start before the TSC was sampled.
    _mm_lfence();
    std::uint64_t tsc = __rdtsc();
    _mm_lfence();
    return tsc;
}

#elif defined(__aarch64__)

std::uint8_t native_counter_id() {
    return kCounterArmVcnt;
}

std::uint64_t read_counter() {
    std::uint64_t v;
    // isb so the counter is not read speculatively ahead of the surrounding code.
    asm volatile("isb; mrs %0, cntvct_el0; isb" : "=r"(v)::"memory");
    return v;
}

#else
#error "vmclock-sim needs an x86 TSC or the ARM virtual counter"
#endif

CounterPair tight_pair(clockid_t clock, int tries) {
    CounterPair best{};
    bool have = false;
    for (int i = 0; i < tries; ++i) {
        std::uint64_t c1 = read_counter();
        std::int64_t ns = now_ns(clock);
        std::uint64_t c2 = read_counter();
        if (c2 < c1) continue;  // cannot happen with an invariant TSC; never trust such a pair
        std::uint64_t bracket = c2 - c1;
        if (!have || bracket < best.bracket) {
            best = CounterPair{c1 + bracket / 2, ns, bracket};
            have = true;
        }
    }
    if (!have) throw std::runtime_error("counter went backwards in every sample");
    return best;
}

void CounterCalibrator::start(int initial_ms) {
    base_ = tight_pair(CLOCK_MONOTONIC_RAW);
    timespec ts{initial_ms / 1000, (initial_ms % 1000) * 1'000'000L};
    // clock_nanosleep does not take CLOCK_MONOTONIC_RAW; the sleep length need not be exact.
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
    }
    refine();
    if (hz_ <= 0) throw std::runtime_error("counter does not advance");
}

void CounterCalibrator::refine() {
    CounterPair now = tight_pair(CLOCK_MONOTONIC_RAW);
    std::int64_t dns = now.clock_ns - base_.clock_ns;
    if (dns <= 0 || now.counter <= base_.counter) return;
    hz_ = static_cast<long double>(now.counter - base_.counter) * 1e9L /
          static_cast<long double>(dns);
    baseline_s_ = static_cast<double>(dns) * 1e-9;
}

}  // namespace vmrefclock::sim

// The CPU counter the vmclock page is calibrated against, read the way the kernel does:
// ordered so the read cannot drift outside the surrounding clock reads.
#pragma once

#include <cstdint>

#include "sources/vmclock/abi.h"

namespace vmrefclock::vmclock {

#if defined(__x86_64__) || defined(__i386__)
inline constexpr uint8_t kCpuCounterId = kCounterX86Tsc;
inline uint64_t read_cpu_counter() {
    uint32_t lo = 0, hi = 0;
    // lfence before rdtsc keeps it from executing ahead of earlier loads (the seq_count).
    asm volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return (static_cast<uint64_t>(hi) << 32) | lo;
}
#elif defined(__aarch64__)
inline constexpr uint8_t kCpuCounterId = kCounterArmVcnt;
inline uint64_t read_cpu_counter() {
    uint64_t v = 0;
    asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v)::"memory");
    return v;
}
#else
inline constexpr uint8_t kCpuCounterId = kCounterInvalid;  // no counter we can read
inline uint64_t read_cpu_counter() {
    return 0;
}
#endif

}  // namespace vmrefclock::vmclock

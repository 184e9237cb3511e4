// The vmclock shared page, as <linux/vmclock-abi.h> defines it (merged in 6.13, plus the
// 2026 additions). Debian 12's headers predate it, so the layout lives here, pinned
// by static_asserts to the kernel's byte offsets. All fields are little-endian.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmrefclock::vmclock {

inline constexpr uint32_t kMagic = 0x4b4c4356;  // "VCLK"
inline constexpr uint16_t kVersion = 1;

inline constexpr uint8_t kCounterArmVcnt = 0;
inline constexpr uint8_t kCounterX86Tsc = 1;
inline constexpr uint8_t kCounterInvalid = 0xff;  // page carries disruption signals only

inline constexpr uint8_t kTimeUtc = 0;
inline constexpr uint8_t kTimeTai = 1;
inline constexpr uint8_t kTimeMonotonic = 2;
inline constexpr uint8_t kTimeSmeared = 3;
inline constexpr uint8_t kTimeMaybeSmeared = 4;

inline constexpr uint64_t kFlagTaiOffsetValid = 1u << 0;
inline constexpr uint64_t kFlagDisruptionSoon = 1u << 1;
inline constexpr uint64_t kFlagDisruptionImminent = 1u << 2;
inline constexpr uint64_t kFlagPeriodEsterrorValid = 1u << 3;
inline constexpr uint64_t kFlagPeriodMaxerrorValid = 1u << 4;
inline constexpr uint64_t kFlagTimeEsterrorValid = 1u << 5;
inline constexpr uint64_t kFlagTimeMaxerrorValid = 1u << 6;
inline constexpr uint64_t kFlagTimeMonotonic = 1u << 7;
inline constexpr uint64_t kFlagVmGenCounterPresent = 1u << 8;
inline constexpr uint64_t kFlagNotificationPresent = 1u << 9;

inline constexpr uint8_t kLeapNone = 0;
inline constexpr uint8_t kLeapPrePositive = 1;
inline constexpr uint8_t kLeapPreNegative = 2;

struct Abi {
    uint32_t magic;
    uint32_t size;  // bytes of the structure the host fills: tells which fields exist
    uint16_t version;
    uint8_t counter_id;
    uint8_t time_type;
    uint32_t seq_count;  // odd while the host updates
    uint64_t disruption_marker;
    uint64_t flags;
    uint8_t pad[2];
    uint8_t clock_status;
    uint8_t leap_second_smearing_hint;
    int16_t tai_offset_sec;  // UTC - TAI
    uint8_t leap_indicator;
    uint8_t counter_period_shift;
    uint64_t counter_value;
    uint64_t counter_period_frac_sec;  // units of 2^-(64 + shift) s
    uint64_t counter_period_esterror_rate_frac_sec;
    uint64_t counter_period_maxerror_rate_frac_sec;
    uint64_t time_sec;
    uint64_t time_frac_sec;  // units of 2^-64 s
    uint64_t time_esterror_nanosec;
    uint64_t time_maxerror_nanosec;
    uint64_t vm_generation_counter;
};

static_assert(offsetof(Abi, size) == 4);
static_assert(offsetof(Abi, version) == 8);
static_assert(offsetof(Abi, counter_id) == 10);
static_assert(offsetof(Abi, time_type) == 11);
static_assert(offsetof(Abi, seq_count) == 12);
static_assert(offsetof(Abi, disruption_marker) == 16);
static_assert(offsetof(Abi, flags) == 24);
static_assert(offsetof(Abi, clock_status) == 34);
static_assert(offsetof(Abi, tai_offset_sec) == 36);
static_assert(offsetof(Abi, leap_indicator) == 38);
static_assert(offsetof(Abi, counter_period_shift) == 39);
static_assert(offsetof(Abi, counter_value) == 40);
static_assert(offsetof(Abi, counter_period_frac_sec) == 48);
static_assert(offsetof(Abi, time_sec) == 72);
static_assert(offsetof(Abi, time_frac_sec) == 80);
static_assert(offsetof(Abi, time_maxerror_nanosec) == 96);
static_assert(offsetof(Abi, vm_generation_counter) == 104);
static_assert(sizeof(Abi) == 112);

// Sizes at which optional fields start to exist.
inline constexpr uint32_t kSizeWithMaxerror = 104;
inline constexpr uint32_t kSizeWithGeneration = 112;
inline constexpr size_t kPageSize = 4096;

}  // namespace vmrefclock::vmclock

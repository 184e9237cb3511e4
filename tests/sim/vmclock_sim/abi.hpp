// The vmclock shared page as the kernel's include/uapi/linux/vmclock-abi.h defines it.
// Written out here on purpose rather than shared with sources/vmclock/: the simulator is the
// independent second reading of the ABI, so a misunderstanding in the daemon's reader shows up
// as a test failure instead of cancelling out.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace vmrefclock::sim {

static_assert(std::endian::native == std::endian::little,
              "the vmclock page is little-endian; this writer stores native integers");

inline constexpr std::uint32_t kVmclockMagic = 0x4b4c4356;  // "VCLK"
inline constexpr std::uint32_t kPageSize = 4096;

// counter_id
inline constexpr std::uint8_t kCounterArmVcnt = 0;
inline constexpr std::uint8_t kCounterX86Tsc = 1;
inline constexpr std::uint8_t kCounterInvalid = 0xff;

// time_type
inline constexpr std::uint8_t kTimeTypeUtc = 0;
inline constexpr std::uint8_t kTimeTypeTai = 1;

// flags
inline constexpr std::uint64_t kFlagTaiOffsetValid = 1ull << 0;
inline constexpr std::uint64_t kFlagDisruptionSoon = 1ull << 1;
inline constexpr std::uint64_t kFlagDisruptionImminent = 1ull << 2;
inline constexpr std::uint64_t kFlagPeriodEsterrorValid = 1ull << 3;
inline constexpr std::uint64_t kFlagPeriodMaxerrorValid = 1ull << 4;
inline constexpr std::uint64_t kFlagTimeEsterrorValid = 1ull << 5;
inline constexpr std::uint64_t kFlagTimeMaxerrorValid = 1ull << 6;
inline constexpr std::uint64_t kFlagTimeMonotonic = 1ull << 7;
inline constexpr std::uint64_t kFlagVmGenCounterPresent = 1ull << 8;
inline constexpr std::uint64_t kFlagNotificationPresent = 1ull << 9;

// clock_status
inline constexpr std::uint8_t kStatusUnknown = 0;
inline constexpr std::uint8_t kStatusInitializing = 1;
inline constexpr std::uint8_t kStatusSynchronized = 2;
inline constexpr std::uint8_t kStatusFreerunning = 3;
inline constexpr std::uint8_t kStatusUnreliable = 4;

// leap_indicator
inline constexpr std::uint8_t kLeapNone = 0;
inline constexpr std::uint8_t kLeapPrePositive = 1;
inline constexpr std::uint8_t kLeapPreNegative = 2;
inline constexpr std::uint8_t kLeapPositive = 3;
inline constexpr std::uint8_t kLeapPostPositive = 4;
inline constexpr std::uint8_t kLeapPostNegative = 5;

struct VmclockAbi {
    std::uint32_t magic;
    std::uint32_t size;
    std::uint16_t version;
    std::uint8_t counter_id;
    std::uint8_t time_type;
    std::uint32_t seq_count;
    std::uint64_t disruption_marker;
    std::uint64_t flags;
    std::uint8_t pad[2];
    std::uint8_t clock_status;
    std::uint8_t leap_second_smearing_hint;
    std::int16_t tai_offset_sec;  // UTC - TAI: -37 in 2017..
    std::uint8_t leap_indicator;
    std::uint8_t counter_period_shift;
    std::uint64_t counter_value;
    std::uint64_t counter_period_frac_sec;  // units of 2^-(64 + counter_period_shift) s
    std::uint64_t counter_period_esterror_rate_frac_sec;
    std::uint64_t counter_period_maxerror_rate_frac_sec;
    std::uint64_t time_sec;
    std::uint64_t time_frac_sec;  // units of 2^-64 s
    std::uint64_t time_esterror_nanosec;
    std::uint64_t time_maxerror_nanosec;
    std::uint64_t vm_generation_counter;
};

static_assert(offsetof(VmclockAbi, magic) == 0);
static_assert(offsetof(VmclockAbi, size) == 4);
static_assert(offsetof(VmclockAbi, version) == 8);
static_assert(offsetof(VmclockAbi, counter_id) == 10);
static_assert(offsetof(VmclockAbi, time_type) == 11);
static_assert(offsetof(VmclockAbi, seq_count) == 12);
static_assert(offsetof(VmclockAbi, disruption_marker) == 16);
static_assert(offsetof(VmclockAbi, flags) == 24);
static_assert(offsetof(VmclockAbi, pad) == 32);
static_assert(offsetof(VmclockAbi, clock_status) == 34);
static_assert(offsetof(VmclockAbi, leap_second_smearing_hint) == 35);
static_assert(offsetof(VmclockAbi, tai_offset_sec) == 36);
static_assert(offsetof(VmclockAbi, leap_indicator) == 38);
static_assert(offsetof(VmclockAbi, counter_period_shift) == 39);
static_assert(offsetof(VmclockAbi, counter_value) == 40);
static_assert(offsetof(VmclockAbi, counter_period_frac_sec) == 48);
static_assert(offsetof(VmclockAbi, counter_period_esterror_rate_frac_sec) == 56);
static_assert(offsetof(VmclockAbi, counter_period_maxerror_rate_frac_sec) == 64);
static_assert(offsetof(VmclockAbi, time_sec) == 72);
static_assert(offsetof(VmclockAbi, time_frac_sec) == 80);
static_assert(offsetof(VmclockAbi, time_esterror_nanosec) == 88);
static_assert(offsetof(VmclockAbi, time_maxerror_nanosec) == 96);
static_assert(offsetof(VmclockAbi, vm_generation_counter) == 104);
static_assert(sizeof(VmclockAbi) == 112);

}  // namespace vmrefclock::sim

// The PTP clock character device ABI (<linux/ptp_clock.h>), spelled out here.
//
// Why our own layout: since Linux 6.12 ptp_sys_offset_extended has a `clockid` field
// where `rsv[0]` was, and the headers of older distributions (Debian 12) lack it. The
// kernel ABI is fixed byte for byte, so we define the structs and request numbers
// ourselves and check them against whatever header the build machine has.
#pragma once

#include <linux/ioctl.h>
#include <linux/ptp_clock.h>

#include <cstddef>
#include <cstdint>

namespace vmrefclock::ptp_abi {

// The kernel's PTP_MAX_SAMPLES: the most readings one SYS_OFFSET(_EXTENDED) ioctl takes.
inline constexpr unsigned kMaxSamples = 25;

struct ClockTime {
    int64_t sec;  // the sign applies to the whole value
    uint32_t nsec;
    uint32_t reserved;
};

struct ClockCaps {
    int32_t max_adj;  // ppb
    int32_t n_alarm;
    int32_t n_ext_ts;
    int32_t n_per_out;
    int32_t pps;
    int32_t n_pins;
    int32_t cross_timestamping;  // driver has getcrosststamp (ptp_kvm says 1 even on tsc)
    int32_t adjust_phase;
    int32_t max_phase_adj;  // 6.2+; rsv[0] before
    int32_t rsv[11];
};

// PTP_SYS_OFFSET: 2n+1 timestamps, system (CLOCK_REALTIME) and PHC interleaved.
struct SysOffset {
    uint32_t n_samples;
    uint32_t rsv[3];
    ClockTime ts[2 * kMaxSamples + 1];
};

// PTP_SYS_OFFSET_EXTENDED: n triples [system before, PHC, system after].
struct SysOffsetExtended {
    uint32_t n_samples;
    int32_t clockid;  // 6.12+: the system clock to read; rsv[0] (must be 0) before
    uint32_t rsv[2];
    ClockTime ts[kMaxSamples][3];
};

// PTP_SYS_OFFSET_PRECISE: one cross-timestamp taken by the hardware/hypervisor.
struct SysOffsetPrecise {
    ClockTime device;
    ClockTime sys_realtime;
    ClockTime sys_monoraw;
    uint32_t rsv[4];
};

// Sizes and offsets of the kernel ABI (x86-64 and arm64 alike: no padding anywhere).
static_assert(sizeof(ClockTime) == 16);
static_assert(sizeof(ClockCaps) == 80);
static_assert(offsetof(ClockCaps, cross_timestamping) == 24);
static_assert(sizeof(SysOffset) == 16 + 51 * 16);
static_assert(offsetof(SysOffset, ts) == 16);
static_assert(sizeof(SysOffsetExtended) == 16 + 75 * 16);
static_assert(offsetof(SysOffsetExtended, clockid) == 4);
static_assert(offsetof(SysOffsetExtended, ts) == 16);
static_assert(sizeof(SysOffsetPrecise) == 64);
static_assert(offsetof(SysOffsetPrecise, sys_realtime) == 16);

// ... and identical to whatever header this machine has (old or new).
static_assert(sizeof(ClockTime) == sizeof(struct ptp_clock_time));
static_assert(sizeof(ClockCaps) == sizeof(struct ptp_clock_caps));
static_assert(sizeof(SysOffset) == sizeof(struct ptp_sys_offset));
static_assert(sizeof(SysOffsetExtended) == sizeof(struct ptp_sys_offset_extended));
static_assert(offsetof(SysOffsetExtended, ts) == offsetof(struct ptp_sys_offset_extended, ts));
static_assert(sizeof(SysOffsetPrecise) == sizeof(struct ptp_sys_offset_precise));
static_assert(kMaxSamples == PTP_MAX_SAMPLES);

// Request numbers: the `...2` variants (Linux 5.8+) check reserved fields strictly;
// the originals are the fallback on ENOTTY.
inline constexpr char kMagic = '=';
inline constexpr unsigned long kGetCaps = _IOR(kMagic, 1, ClockCaps);
inline constexpr unsigned long kSysOffset = _IOW(kMagic, 5, SysOffset);
inline constexpr unsigned long kSysOffsetPrecise = _IOWR(kMagic, 8, SysOffsetPrecise);
inline constexpr unsigned long kSysOffsetExtended = _IOWR(kMagic, 9, SysOffsetExtended);
inline constexpr unsigned long kGetCaps2 = _IOR(kMagic, 10, ClockCaps);
inline constexpr unsigned long kSysOffset2 = _IOW(kMagic, 14, SysOffset);
inline constexpr unsigned long kSysOffsetPrecise2 = _IOWR(kMagic, 17, SysOffsetPrecise);
inline constexpr unsigned long kSysOffsetExtended2 = _IOWR(kMagic, 18, SysOffsetExtended);

static_assert(kGetCaps == PTP_CLOCK_GETCAPS);
static_assert(kSysOffset == PTP_SYS_OFFSET);
static_assert(kSysOffsetPrecise == PTP_SYS_OFFSET_PRECISE);
static_assert(kSysOffsetExtended == PTP_SYS_OFFSET_EXTENDED);
static_assert(kGetCaps2 == PTP_CLOCK_GETCAPS2);
static_assert(kSysOffset2 == PTP_SYS_OFFSET2);
static_assert(kSysOffsetPrecise2 == PTP_SYS_OFFSET_PRECISE2);
static_assert(kSysOffsetExtended2 == PTP_SYS_OFFSET_EXTENDED2);

inline int64_t to_ns(const ClockTime& t) {
    return t.sec * 1'000'000'000 + static_cast<int64_t>(t.nsec);
}

inline ClockTime from_ns(int64_t ns) {
    int64_t sec = ns / 1'000'000'000;
    int64_t rem = ns % 1'000'000'000;
    if (rem < 0) {  // nsec is unsigned: floor the seconds
        rem += 1'000'000'000;
        --sec;
    }
    return ClockTime{sec, static_cast<uint32_t>(rem), 0};
}

}  // namespace vmrefclock::ptp_abi

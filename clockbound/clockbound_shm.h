/* AWS ClockBound's shared-memory segment, layout version 2 (clock-bound 2.0.x), as
 * ../shared/ARCHITECTURE.md "Bounded time for applications" gives it: native endianness,
 * 64-bit timespecs, 80 bytes. Shared by the daemon's writer (C++) and the C client; the
 * offsets are pinned below so a compiler or an edit cannot move a field unnoticed.
 * Plain C11 so that C programs can include it. */
#ifndef VMREFCLOCK_CLOCKBOUND_SHM_H
#define VMREFCLOCK_CLOCKBOUND_SHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#define VMR_CB_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define VMR_CB_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define VMR_CB_MAGIC0 0x414D5A4Eu
#define VMR_CB_MAGIC1 0x43420200u
#define VMR_CB_SEGSIZE 80u
#define VMR_CB_VERSION 2u
/* ClockBound's standard path; /var/run is a link to /run. */
#define VMR_CB_DEFAULT_PATH "/var/run/clockbound/shm0"
/* Readers trust Synchronized/FreeRunning as written for this long after as_of. */
#define VMR_CB_GRACE_NS 5000000000LL
/* A reader's CLOCK_MONOTONIC_COARSE may trail as_of by this much (clock granularity). */
#define VMR_CB_CAUSALITY_BLUR_NS 1000LL
#define VMR_CB_MAX_DRIFT_PPB_LIMIT 1000000000u
/* "No bound" (about 11.6 days): what vmrefclockd writes after a disruption until it has
 * measured the new clock, and what the client returns when the vmclock marker shows a
 * disruption the segment does not know of yet. */
#define VMR_CB_UNKNOWN_BOUND_NS 1000000000000000LL

/* clock_status values. */
#define VMR_CB_STATUS_UNKNOWN 0
#define VMR_CB_STATUS_SYNCHRONIZED 1
#define VMR_CB_STATUS_FREE_RUNNING 2
#define VMR_CB_STATUS_DISRUPTED 3

struct vmr_cb_timespec {
    int64_t tv_sec;
    int64_t tv_nsec;
};

/* The part the writer updates under the generation count (offset 16 onwards). */
struct vmr_cb_body {
    struct vmr_cb_timespec as_of;      /* CLOCK_MONOTONIC_COARSE when the bound was taken */
    struct vmr_cb_timespec void_after; /* as_of + 1000 s */
    int64_t bound_nsec;                /* bound on |CLOCK_REALTIME - true time| at as_of */
    uint64_t disruption_marker;        /* the last vmclock marker the writer saw */
    uint32_t max_drift_ppb;            /* < 1e9 */
    int32_t clock_status;              /* VMR_CB_STATUS_* */
    uint8_t clock_disruption_support_enabled;
    uint8_t padding[7];
};

struct vmr_cb_segment {
    uint32_t magic[2];
    uint32_t segsize;
    uint16_t version;    /* 2; 0 = not usable yet */
    uint16_t generation; /* odd while written; 0 = never written; 65534 -> 2 */
    struct vmr_cb_body body;
};

VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, magic) == 0, "magic at 0");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, segsize) == 8, "segsize at 8");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, version) == 12, "version at 12");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, generation) == 14, "generation at 14");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, body.as_of) == 16, "as_of at 16");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, body.void_after) == 32, "void_after at 32");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, body.bound_nsec) == 48, "bound_nsec at 48");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, body.disruption_marker) == 56,
                     "disruption_marker at 56");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, body.max_drift_ppb) == 64,
                     "max_drift_ppb at 64");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, body.clock_status) == 68,
                     "clock_status at 68");
VMR_CB_STATIC_ASSERT(offsetof(struct vmr_cb_segment, body.clock_disruption_support_enabled) == 72,
                     "clock_disruption_support_enabled at 72");
VMR_CB_STATIC_ASSERT(sizeof(struct vmr_cb_segment) == VMR_CB_SEGSIZE, "80 bytes");
VMR_CB_STATIC_ASSERT(sizeof(struct vmr_cb_body) == VMR_CB_SEGSIZE - 16, "64-byte body");

#ifdef __cplusplus
}
#endif

#endif

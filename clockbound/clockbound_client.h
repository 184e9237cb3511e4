/* A small C client for a ClockBound v2 segment (the one vmrefclockd writes, or AWS
 * clockbound-d's): now() gives earliest, latest and a status by ClockBound's reader
 * rules. Plain C11; one client per thread (it caches the last snapshot).
 *
 *   int err;
 *   vmr_cb_client *c = vmr_cb_open(VMR_CB_DEFAULT_PATH, NULL, &err);
 *   vmr_cb_now_result r;
 *   if (c && vmr_cb_now(c, &r) == VMR_CB_OK && r.status == VMR_CB_STATUS_SYNCHRONIZED) ...
 */
#ifndef VMREFCLOCK_CLOCKBOUND_CLIENT_H
#define VMREFCLOCK_CLOCKBOUND_CLIENT_H

#include <stdint.h>
#include <time.h>

#include "clockbound_shm.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vmr_cb_error {
    VMR_CB_OK = 0,
    VMR_CB_ERR_SYSCALL = 1,         /* open/mmap/clock_gettime failed: see errno */
    VMR_CB_ERR_NOT_INITIALIZED = 2, /* no usable segment yet (version or generation 0) */
    VMR_CB_ERR_MALFORMED = 3,       /* wrong magic, size or drift */
    VMR_CB_ERR_CAUSALITY = 4,       /* CLOCK_MONOTONIC_COARSE is before as_of */
};

typedef struct vmr_cb_client vmr_cb_client;

typedef struct vmr_cb_now_result {
    struct timespec earliest;
    struct timespec latest;
    int status;       /* VMR_CB_STATUS_* */
    int64_t bound_ns; /* (latest - earliest) / 2 */
} vmr_cb_now_result;

/* Opens the segment at shm_path read-only. vmclock_path: the vmclock device whose
 * disruption marker is compared with the segment's when the segment says disruption
 * support is on; NULL = "/dev/vmclock0". A marker that differs (the host's clock was
 * disrupted after the bound was taken) gives UNKNOWN with no bound
 * (VMR_CB_UNKNOWN_BOUND_NS); a marker that cannot be read gives UNKNOWN with the
 * interval as written. On failure returns NULL and sets *error (and
 * errno for VMR_CB_ERR_SYSCALL). */
vmr_cb_client* vmr_cb_open(const char* shm_path, const char* vmclock_path, int* error);
void vmr_cb_close(vmr_cb_client* client);

/* The current time with its bound. */
int vmr_cb_now(vmr_cb_client* client, vmr_cb_now_result* result);

/* The arithmetic of now() on a given snapshot and clock readings (no I/O), for tests:
 * real = CLOCK_REALTIME, mono = CLOCK_MONOTONIC_COARSE, both in ns. The vmclock check
 * is not part of it. */
int vmr_cb_compute_at(const struct vmr_cb_body* body, int64_t real_ns, int64_t mono_ns,
                      vmr_cb_now_result* result);

const char* vmr_cb_strerror(int error);
/* "UNKNOWN", "SYNCHRONIZED", "FREE_RUNNING", "DISRUPTED". */
const char* vmr_cb_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif

/* The reader rules of ../shared/ARCHITECTURE.md "Bounded time for applications", as
 * ClockBound's own clients apply them. */
#define _GNU_SOURCE
#include "clockbound/clockbound_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
/* The vmclock page: magic, seq_count at 12, disruption_marker at 16 (little-endian). */
#define VMCLOCK_MAGIC 0x4b4c4356u
#define VMCLOCK_MAP_BYTES 4096
#define VMCLOCK_MIN_BYTES 24
/* Bounded retries for a writer that changes the segment (or page) under us. */
#define MAX_RETRIES 1000000

struct vmr_cb_client {
    const struct vmr_cb_segment* segment;
    size_t segment_bytes;
    const unsigned char* vmclock; /* NULL when not open */
    size_t vmclock_bytes;
    struct vmr_cb_body snapshot; /* the last consistent copy; zero = Unknown */
    uint16_t snapshot_generation;
};

static int64_t ts_ns(const struct timespec* t) {
    return (int64_t)t->tv_sec * NS_PER_S + t->tv_nsec;
}

static int64_t cb_ns(const struct vmr_cb_timespec* t) {
    return t->tv_sec * NS_PER_S + t->tv_nsec;
}

static struct timespec to_ts(int64_t ns) {
    struct timespec t;
    t.tv_sec = (time_t)(ns / NS_PER_S);
    t.tv_nsec = (long)(ns % NS_PER_S);
    if (t.tv_nsec < 0) {
        t.tv_nsec += NS_PER_S;
        t.tv_sec -= 1;
    }
    return t;
}

static const void* map_readonly(const char* path, size_t want, size_t min_bytes, size_t* mapped,
                                int* error) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *error = VMR_CB_ERR_SYSCALL;
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        *error = VMR_CB_ERR_SYSCALL;
        return NULL;
    }
    /* A regular file maps no further than its size; a device (st_size 0) maps `want`. */
    size_t bytes = want;
    if (S_ISREG(st.st_mode)) {
        if ((size_t)st.st_size < min_bytes) {
            close(fd);
            *error = VMR_CB_ERR_MALFORMED;
            return NULL;
        }
        if ((size_t)st.st_size < bytes) bytes = (size_t)st.st_size;
    }
    void* p = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        errno = e;
        *error = VMR_CB_ERR_SYSCALL;
        return NULL;
    }
    *mapped = bytes;
    return p;
}

static int header_valid(const struct vmr_cb_segment* s) {
    return s->magic[0] == VMR_CB_MAGIC0 && s->magic[1] == VMR_CB_MAGIC1 &&
           s->segsize >= VMR_CB_SEGSIZE;
}

vmr_cb_client* vmr_cb_open(const char* shm_path, const char* vmclock_path, int* error) {
    int ignored;
    if (!error) error = &ignored;
    *error = VMR_CB_OK;
    vmr_cb_client* c = calloc(1, sizeof *c);
    if (!c) {
        *error = VMR_CB_ERR_SYSCALL;
        return NULL;
    }
    c->segment = map_readonly(shm_path, VMR_CB_SEGSIZE, VMR_CB_SEGSIZE, &c->segment_bytes, error);
    if (!c->segment) {
        free(c);
        return NULL;
    }
    const struct vmr_cb_segment* s = c->segment;
    const uint16_t version = __atomic_load_n(&s->version, __ATOMIC_ACQUIRE);
    const uint16_t generation = __atomic_load_n(&s->generation, __ATOMIC_ACQUIRE);
    if (!header_valid(s) || (version != 0 && version != VMR_CB_VERSION)) {
        *error = VMR_CB_ERR_MALFORMED;
    } else if (version == 0 || generation == 0) {
        *error = VMR_CB_ERR_NOT_INITIALIZED;
    }
    if (*error != VMR_CB_OK) {
        vmr_cb_close(c);
        return NULL;
    }
    /* The vmclock device is optional: when the segment asks for the check and the
     * device cannot be read, now() answers Unknown. */
    int vmclock_error = 0;
    c->vmclock = map_readonly(vmclock_path ? vmclock_path : "/dev/vmclock0", VMCLOCK_MAP_BYTES,
                              VMCLOCK_MIN_BYTES, &c->vmclock_bytes, &vmclock_error);
    if (c->vmclock && *(const uint32_t*)c->vmclock != VMCLOCK_MAGIC) {
        munmap((void*)c->vmclock, c->vmclock_bytes);
        c->vmclock = NULL;
    }
    return c;
}

void vmr_cb_close(vmr_cb_client* c) {
    if (!c) return;
    if (c->segment) munmap((void*)c->segment, c->segment_bytes);
    if (c->vmclock) munmap((void*)c->vmclock, c->vmclock_bytes);
    free(c);
}

/* ClockBound's snapshot: a segment being rewritten, being written or unchanged gives
 * the last copy (a larger bound than it could be, never a wrong one). */
static void refresh_snapshot(vmr_cb_client* c) {
    const struct vmr_cb_segment* s = c->segment;
    if (__atomic_load_n(&s->version, __ATOMIC_ACQUIRE) != VMR_CB_VERSION) return;
    uint16_t first = __atomic_load_n(&s->generation, __ATOMIC_ACQUIRE);
    if (first == 0 || first == c->snapshot_generation || (first & 1)) return;
    for (int i = 0; i < MAX_RETRIES; ++i) {
        struct vmr_cb_body copy;
        memcpy(&copy, (const void*)&s->body, sizeof copy);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint16_t second = __atomic_load_n(&s->generation, __ATOMIC_ACQUIRE);
        if (second == first) {
            c->snapshot = copy;
            c->snapshot_generation = first;
            return;
        }
        if (!(second & 1)) first = second;
    }
}

/* The page's marker under its seqcount; 0 with *ok = 0 when no consistent read. */
static uint64_t vmclock_marker(const vmr_cb_client* c, int* ok) {
    const uint32_t* seq_p = (const uint32_t*)(c->vmclock + 12);
    const uint64_t* marker_p = (const uint64_t*)(c->vmclock + 16);
    for (int i = 0; i < MAX_RETRIES; ++i) {
        uint32_t seq = __atomic_load_n(seq_p, __ATOMIC_ACQUIRE);
        if (seq & 1) continue;
        uint64_t marker = __atomic_load_n(marker_p, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(seq_p, __ATOMIC_RELAXED) == seq) {
            *ok = 1;
            return marker;
        }
    }
    *ok = 0;
    return 0;
}

int vmr_cb_compute_at(const struct vmr_cb_body* b, int64_t real_ns, int64_t mono_ns,
                      vmr_cb_now_result* r) {
    if (b->max_drift_ppb >= VMR_CB_MAX_DRIFT_PPB_LIMIT || b->bound_nsec < 0)
        return VMR_CB_ERR_MALFORMED;
    const int64_t as_of = cb_ns(&b->as_of);
    int status = b->clock_status;
    if (status == VMR_CB_STATUS_SYNCHRONIZED || status == VMR_CB_STATUS_FREE_RUNNING) {
        if (mono_ns < as_of + VMR_CB_GRACE_NS) {
            /* as written */
        } else if (mono_ns < cb_ns(&b->void_after)) {
            status = VMR_CB_STATUS_FREE_RUNNING;
        } else {
            status = VMR_CB_STATUS_UNKNOWN;
        }
    }
    int64_t elapsed = 0;
    if (mono_ns >= as_of) {
        elapsed = mono_ns - as_of;
    } else if (mono_ns < as_of - VMR_CB_CAUSALITY_BLUR_NS) {
        return VMR_CB_ERR_CAUSALITY;
    }
    /* elapsed * ppb / 1e9 without overflow for any elapsed. */
    const __int128 drift = (__int128)elapsed * b->max_drift_ppb / NS_PER_S;
    __int128 bound = (__int128)b->bound_nsec + drift;
    if (bound > INT64_MAX / 4) bound = INT64_MAX / 4;
    r->bound_ns = (int64_t)bound;
    r->earliest = to_ts(real_ns - r->bound_ns);
    r->latest = to_ts(real_ns + r->bound_ns);
    r->status = status;
    return VMR_CB_OK;
}

int vmr_cb_now(vmr_cb_client* c, vmr_cb_now_result* r) {
    /* REALTIME first, as close as possible to the caller's event; a late MONOTONIC
     * read only makes the bound larger. */
    struct timespec real, mono;
    if (clock_gettime(CLOCK_REALTIME, &real) != 0) return VMR_CB_ERR_SYSCALL;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &mono) != 0) return VMR_CB_ERR_SYSCALL;
    refresh_snapshot(c);
    int err = vmr_cb_compute_at(&c->snapshot, ts_ns(&real), ts_ns(&mono), r);
    if (err != VMR_CB_OK) return err;
    if (c->snapshot.clock_disruption_support_enabled) {
        int ok = 0;
        const uint64_t marker = c->vmclock ? vmclock_marker(c, &ok) : 0;
        if (!ok) {
            r->status = VMR_CB_STATUS_UNKNOWN; /* cannot tell: the interval as written */
        } else if (marker != c->snapshot.disruption_marker) {
            /* The host's clock was disrupted (stepped by any amount) after the bound was
             * taken, and the writer has not measured the new clock yet: the interval
             * written for the old clock would be wrong, so there is none. */
            r->status = VMR_CB_STATUS_UNKNOWN;
            r->bound_ns = VMR_CB_UNKNOWN_BOUND_NS;
            r->earliest = to_ts(ts_ns(&real) - r->bound_ns);
            r->latest = to_ts(ts_ns(&real) + r->bound_ns);
        }
    }
    return VMR_CB_OK;
}

const char* vmr_cb_strerror(int error) {
    switch (error) {
        case VMR_CB_OK:
            return "ok";
        case VMR_CB_ERR_SYSCALL:
            return "system call failed";
        case VMR_CB_ERR_NOT_INITIALIZED:
            return "segment not initialised yet (version or generation 0)";
        case VMR_CB_ERR_MALFORMED:
            return "segment malformed (magic, size or drift)";
        case VMR_CB_ERR_CAUSALITY:
            return "CLOCK_MONOTONIC_COARSE is before the segment's as_of";
    }
    return "unknown error";
}

const char* vmr_cb_status_name(int status) {
    switch (status) {
        case VMR_CB_STATUS_UNKNOWN:
            return "UNKNOWN";
        case VMR_CB_STATUS_SYNCHRONIZED:
            return "SYNCHRONIZED";
        case VMR_CB_STATUS_FREE_RUNNING:
            return "FREE_RUNNING";
        case VMR_CB_STATUS_DISRUPTED:
            return "DISRUPTED";
    }
    return "INVALID";
}

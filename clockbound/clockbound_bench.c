/* vmrefclock-clockbound-bench: the cost of vmr_cb_now() beside clock_gettime
 * (CLOCK_REALTIME), measured side by side in alternating blocks so both see the same
 * machine load. Without --shm it writes its own segment (Synchronized, disruption
 * support on) and vmclock page in a temporary directory, so the full path, marker check
 * included, is what gets measured.
 *
 *   vmrefclock-clockbound-bench [--shm PATH] [--vmclock PATH] [--iterations N] */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clockbound/clockbound_client.h"

#define BLOCK 10000

static int64_t now_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int write_file(const char* path, const void* data, size_t n) {
    FILE* f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static int make_fixture(char* dir, char* shm, char* vmclock, size_t n) {
    if (!mkdtemp(dir)) return -1;
    snprintf(shm, n, "%s/shm0", dir);
    snprintf(vmclock, n, "%s/vmclock0", dir);
    unsigned char page[4096] = {0};
    const uint32_t magic = 0x4b4c4356u;
    const uint64_t marker = 42;
    memcpy(page, &magic, sizeof magic);
    memcpy(page + 16, &marker, sizeof marker);
    struct vmr_cb_segment s;
    memset(&s, 0, sizeof s);
    s.magic[0] = VMR_CB_MAGIC0;
    s.magic[1] = VMR_CB_MAGIC1;
    s.segsize = VMR_CB_SEGSIZE;
    s.version = VMR_CB_VERSION;
    s.generation = 2;
    const int64_t mono = now_ns(CLOCK_MONOTONIC_COARSE);
    s.body.as_of.tv_sec = mono / 1000000000LL;
    s.body.as_of.tv_nsec = mono % 1000000000LL;
    s.body.void_after.tv_sec = s.body.as_of.tv_sec + 1000;
    s.body.void_after.tv_nsec = s.body.as_of.tv_nsec;
    s.body.bound_nsec = 1000;
    s.body.max_drift_ppb = 1000;
    s.body.clock_status = VMR_CB_STATUS_SYNCHRONIZED;
    s.body.disruption_marker = marker;
    s.body.clock_disruption_support_enabled = 1;
    if (write_file(vmclock, page, sizeof page) != 0) return -1;
    return write_file(shm, &s, sizeof s);
}

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    const char *shm_path = NULL, *vmclock_path = NULL;
    long iterations = 10000000;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--shm") && i + 1 < argc) {
            shm_path = argv[++i];
        } else if (!strcmp(argv[i], "--vmclock") && i + 1 < argc) {
            vmclock_path = argv[++i];
        } else if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
            iterations = strtol(argv[++i], NULL, 10);
            if (iterations < BLOCK) {
                fprintf(stderr, "vmrefclock-clockbound-bench: --iterations must be >= %d\n", BLOCK);
                return 2;
            }
        } else {
            fprintf(stderr,
                    "usage: vmrefclock-clockbound-bench [--shm PATH] [--vmclock PATH] "
                    "[--iterations N]\n");
            return 2;
        }
    }
    char dir[] = "/tmp/vmr-cb-bench-XXXXXX", shm[256], vmclock[256];
    int own = shm_path == NULL;
    if (own) {
        if (make_fixture(dir, shm, vmclock, sizeof shm) != 0) {
            fprintf(stderr, "vmrefclock-clockbound-bench: cannot write %s: %s\n", dir,
                    strerror(errno));
            return 1;
        }
        shm_path = shm;
        vmclock_path = vmclock;
    }
    int err = 0;
    vmr_cb_client* c = vmr_cb_open(shm_path, vmclock_path, &err);
    if (!c) {
        fprintf(stderr, "vmrefclock-clockbound-bench: %s: %s\n", shm_path, vmr_cb_strerror(err));
        return 1;
    }
    const long blocks = iterations / BLOCK;
    double* gettime = calloc((size_t)blocks, sizeof *gettime);
    double* cbnow = calloc((size_t)blocks, sizeof *cbnow);
    volatile int64_t sink = 0;
    vmr_cb_now_result r;
    int last_status = -1;
    for (long b = 0; b < blocks; ++b) {
        int64_t t0 = now_ns(CLOCK_MONOTONIC);
        for (int i = 0; i < BLOCK; ++i) {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            sink += t.tv_nsec;
        }
        int64_t t1 = now_ns(CLOCK_MONOTONIC);
        for (int i = 0; i < BLOCK; ++i) {
            if (vmr_cb_now(c, &r) != VMR_CB_OK) {
                fprintf(stderr, "vmrefclock-clockbound-bench: now() failed\n");
                return 1;
            }
            sink += r.bound_ns;
        }
        int64_t t2 = now_ns(CLOCK_MONOTONIC);
        last_status = r.status;
        gettime[b] = (double)(t1 - t0) / BLOCK;
        cbnow[b] = (double)(t2 - t1) / BLOCK;
    }
    qsort(gettime, (size_t)blocks, sizeof *gettime, cmp_double);
    qsort(cbnow, (size_t)blocks, sizeof *cbnow, cmp_double);
    const double g = gettime[blocks / 2], n = cbnow[blocks / 2];
    printf("clock_gettime(CLOCK_REALTIME): %.1f ns/call (median of %ld blocks of %d)\n", g, blocks,
           BLOCK);
    printf("vmr_cb_now():                  %.1f ns/call (status %s)\n", n,
           vmr_cb_status_name(last_status));
    printf("ratio now()/clock_gettime:     %.2f\n", n / g);
    vmr_cb_close(c);
    free(gettime);
    free(cbnow);
    if (own) {
        unlink(shm);
        unlink(vmclock);
        rmdir(dir);
    }
    return 0;
}

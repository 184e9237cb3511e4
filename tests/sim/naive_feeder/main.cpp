// naive-feeder: the live bench's baseline. Each poll it reads the vmclock page N times,
// each read bracketed by CLOCK_REALTIME, keeps the reading with the smallest bracket,
// and sends chrony (its midpoint truncated to the microsecond, host - midpoint
// unchanged) as a SOCK sample. No filter, no disruption handling, no error bound.
// Its encoding is written out here, not shared with the daemon, so that the bench
// compares against an independent implementation. Prints each sample it sends
// ("sample MID_NS OFFSET_NS DELAY_NS") so the bench can score what chrony was given.
//   naive-feeder PAGE SOCKET INTERVAL_S [READINGS]
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sources/vmclock/counter.h"
#include "sources/vmclock/page_reader.h"
#include "sources/vmclock/time_math.h"

namespace {

struct SockSample {  // chrony's struct sock_sample (refclock_sock.c), LP64
    timeval tv;      // system time of the measurement
    double offset;   // reference - system at tv, seconds
    int pulse, leap, pad, magic;
};
static_assert(sizeof(SockSample) == 40 && offsetof(SockSample, magic) == 36);

int connect_socket(const char* path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: naive-feeder PAGE SOCKET INTERVAL_S [READINGS]\n");
        return 2;
    }
    const int64_t interval_ns = static_cast<int64_t>(std::atof(argv[3]) * 1e9);
    const int readings = argc > 4 ? std::atoi(argv[4]) : 10;
    auto page = vmrefclock::vmclock::VmclockPage::open(argv[1]);
    if (!page || interval_ns <= 0 || readings < 1) {
        std::fprintf(stderr, "naive-feeder: %s\n",
                     page ? "bad arguments" : page.error().message.c_str());
        return 1;
    }
    int fd = -1;
    timespec next{};
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        // Min-delay reading of N.
        bool have = false;
        int64_t best_delay = 0, best_mid = 0, best_offset = 0;
        for (int i = 0; i < readings; ++i) {
            auto r = (*page)->read(true);
            if (!r || r->counter_id != vmrefclock::vmclock::kCpuCounterId) continue;
            auto host = vmrefclock::vmclock::counter_to_ns(r->calibration, r->counter);
            if (!host) continue;
            const int64_t delay = r->sys_post_ns - r->sys_pre_ns;
            if (!have || delay < best_delay) {
                have = true;
                best_delay = delay;
                best_mid = r->sys_pre_ns + delay / 2;
                best_offset = *host - best_mid;
            }
        }
        if (have) {
            if (fd < 0) fd = connect_socket(argv[2]);
            // tv = the midpoint floored to the µs; the offset is the reading's own.
            int64_t us = best_mid / 1000 - (best_mid % 1000 < 0 ? 1 : 0);
            SockSample s{};
            s.tv.tv_sec = us / 1'000'000 - (us % 1'000'000 < 0 ? 1 : 0);
            s.tv.tv_usec = us - int64_t{s.tv.tv_sec} * 1'000'000;
            s.offset = static_cast<double>(best_offset) * 1e-9;
            s.magic = 0x534f434b;
            if (fd >= 0 && send(fd, &s, sizeof s, 0) == sizeof s) {
                std::printf("sample %lld %lld %lld\n", static_cast<long long>(best_mid),
                            static_cast<long long>(best_offset),
                            static_cast<long long>(best_delay));
                std::fflush(stdout);
            } else if (fd >= 0) {
                close(fd);  // chronyd not there (yet): reconnect next poll
                fd = -1;
            }
        }
        next.tv_nsec += interval_ns % 1'000'000'000;
        next.tv_sec += interval_ns / 1'000'000'000 + next.tv_nsec / 1'000'000'000;
        next.tv_nsec %= 1'000'000'000;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) {
        }
    }
}

// Hand-run self-check for vmclock-sim (not built by CMake: the sim globs only ../*.cpp).
// Decodes the page from raw byte offsets (deliberately not via abi.hpp) with the ABI's reader
// formula, reading the TSC right there, and compares with CLOCK_REALTIME + the truth file.
//   g++ -std=c++20 -O2 -o /tmp/check_page tests/sim/vmclock_sim/selfcheck/check_page.cpp
//   build-sim/bin/vmclock-sim --page /tmp/p --truth-file /tmp/t --offset 0.00025 --freq-ppm 3 &
//   /tmp/check_page /tmp/p /tmp/t 20
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

const volatile unsigned char* page;

template <typename T>
T at(std::size_t off) {
    T v;
    std::memcpy(&v, const_cast<const unsigned char*>(page) + off, sizeof v);
    return v;
}
std::uint32_t seq() {
    return __atomic_load_n(reinterpret_cast<const volatile std::uint32_t*>(page + 12),
                           __ATOMIC_ACQUIRE);
}
std::uint64_t tsc() {
    _mm_lfence();
    std::uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}
std::int64_t realtime_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
std::map<std::string, std::string> truth(const char* path) {
    std::map<std::string, std::string> m;
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line))
        if (auto eq = line.find('='); eq != std::string::npos)
            m[line.substr(0, eq)] = line.substr(eq + 1);
    return m;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: check_page PAGE TRUTH SECONDS\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    void* m = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (fd < 0 || m == MAP_FAILED) return perror("page"), 1;
    page = static_cast<const unsigned char*>(m);
    std::printf(
        "magic=0x%08x size=%u version=%u counter_id=%u time_type=%u flags=0x%llx "
        "status=%u shift=%u period=0x%016llx tai_offset=%d\n",
        at<std::uint32_t>(0), at<std::uint32_t>(4), at<std::uint16_t>(8), at<std::uint8_t>(10),
        at<std::uint8_t>(11), (unsigned long long)at<std::uint64_t>(24), at<std::uint8_t>(34),
        at<std::uint8_t>(39), (unsigned long long)at<std::uint64_t>(48), at<std::int16_t>(36));

    // 1) seqcount: spin for 3 s, count odd sightings and even values seen.
    std::uint64_t odd = 0, reads = 0;
    std::vector<std::uint32_t> evens;
    for (std::int64_t end = realtime_ns() + 3000000000LL; realtime_ns() < end; ++reads) {
        std::uint32_t s = seq();
        if (s & 1)
            ++odd;
        else if (evens.empty() || evens.back() != s)
            evens.push_back(s);
    }
    bool steps_of_2 = true;
    for (std::size_t i = 1; i < evens.size(); ++i) steps_of_2 &= evens[i] - evens[i - 1] == 2;
    std::printf(
        "seqcount: %llu reads, %llu odd, even values %u..%u (%zu distinct, steps of 2: %s)\n",
        (unsigned long long)reads, (unsigned long long)odd, evens.front(), evens.back(),
        evens.size(), steps_of_2 ? "yes" : "no");

    // 2) time: decode every 10 ms for SECONDS, compare with CLOCK_REALTIME + truth.
    double secs = std::atof(argv[3]);
    std::vector<double> errs;
    int retries = 0;
    for (std::int64_t end = realtime_ns() + std::int64_t(secs * 1e9); realtime_ns() < end;) {
        auto tr = truth(argv[2]);
        double off_ns = std::stod(tr["offset_ns"]), fppm = std::stod(tr["freq_ppm"]);
        std::int64_t t0 = std::stoll(tr["realtime_ns"]);
        std::uint64_t sec, frac, c1 = 0, c2 = 0;
        std::int64_t r = 0;
        for (;;) {
            std::uint32_t s = seq() & ~1u;
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            std::uint64_t cv = at<std::uint64_t>(40), per = at<std::uint64_t>(48);
            unsigned shift = at<std::uint8_t>(39);
            sec = at<std::uint64_t>(72);
            frac = at<std::uint64_t>(80);
            // Shortest of 5 (tsc, REALTIME, tsc) sandwiches: a preempted one says nothing.
            for (int k = 0; k < 5; ++k) {
                std::uint64_t a = tsc();
                std::int64_t rr = realtime_ns();
                std::uint64_t b = tsc();
                if (k == 0 || b - a < c2 - c1) c1 = a, r = rr, c2 = b;
            }
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (seq() != s) {
                ++retries;
                continue;
            }
            std::uint64_t c = c1 + (c2 - c1) / 2;
            unsigned __int128 sum =
                (((unsigned __int128)(c - cv) * per) >> shift) + (unsigned __int128)frac;
            sec += (std::uint64_t)(sum >> 64);
            frac = (std::uint64_t)sum;
            break;
        }
        long double page_minus_r_ns = (long double)((std::int64_t)sec - r / 1000000000) * 1e9L +
                                      (long double)frac * 1e9L / 18446744073709551616.0L -
                                      (long double)(r % 1000000000);
        long double expect_ns = off_ns + fppm * 1e-6 * (long double)(r - t0);
        if (at<std::uint8_t>(11) == 1) expect_ns += 37e9L;
        errs.push_back((double)(page_minus_r_ns - expect_ns));
        usleep(10000);
    }
    double sum = 0, sq = 0, mx = 0;
    for (double e : errs) sum += e, sq += e * e, mx = std::max(mx, std::fabs(e));
    double mean = sum / errs.size();
    std::sort(errs.begin(), errs.end());
    std::printf(
        "time: %zu samples, error (page - (REALTIME + truth)) mean %+.1f ns, rms %.1f ns, "
        "p50 %+.1f ns, p1 %+.1f ns, p99 %+.1f ns, max |err| %.1f ns, seq retries %d\n",
        errs.size(), mean, std::sqrt(sq / errs.size()), errs[errs.size() / 2],
        errs[errs.size() / 100], errs[errs.size() * 99 / 100], mx, retries);
    return 0;
}

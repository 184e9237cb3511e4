// A vmclock page file written by a test, byte for byte, anchored at "now" on this machine's
// counter. The period's shift is chosen as vmclock-sim chooses it (the largest that keeps
// counter_period_frac_sec below 2^64), so it works for any counter frequency.
#pragma once

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "sources/system_clock.h"
#include "sources/vmclock/abi.h"
#include "sources/vmclock/counter.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock::test {

// Counter ticks per second against CLOCK_MONOTONIC_RAW over 50 ms: good to ~1e-5.
inline double measured_counter_hz() {
    static const double hz = [] {
        const int64_t t0 = read_clock_ns(CLOCK_MONOTONIC_RAW);
        const uint64_t c0 = vmclock::read_cpu_counter();
        usleep(50'000);
        const int64_t t1 = read_clock_ns(CLOCK_MONOTONIC_RAW);
        const uint64_t c1 = vmclock::read_cpu_counter();
        return static_cast<double>(c1 - c0) * 1e9 / static_cast<double>(t1 - t0);
    }();
    return hz;
}

// frac * 2^-(64 + shift) = period, frac in [2^63, 2^64).
inline void encode_period(long double period_s, uint64_t& frac, uint8_t& shift) {
    long double v = std::ldexp(period_s, 64);
    int s = 0;
    while (v < 9223372036854775808.0L && s < 255) {
        v *= 2;
        ++s;
    }
    v = std::round(v);
    if (v >= 18446744073709551616.0L) {
        v /= 2;
        --s;
    }
    frac = static_cast<uint64_t>(v);
    shift = static_cast<uint8_t>(s);
}

class TestPage {
  public:
    TestPage() : path_(dir_.file("vmclock0")) {
        std::memset(bytes_, 0, sizeof bytes_);
        abi().magic = vmclock::kMagic;
        abi().size = 4096;
        abi().version = 1;
        abi().counter_id = vmclock::kCpuCounterId;
        abi().time_type = vmclock::kTimeUtc;
        abi().disruption_marker = 0x1234;
        abi().flags = vmclock::kFlagTimeMaxerrorValid | vmclock::kFlagVmGenCounterPresent;
        abi().clock_status = 2;
        abi().time_maxerror_nanosec = 1000;
        abi().vm_generation_counter = 7;
    }

    vmclock::Abi& abi() { return *reinterpret_cast<vmclock::Abi*>(bytes_); }
    const std::string& path() const { return path_; }
    const TempDir& dir() const { return dir_; }

    // The host's clock is `offset_ns` ahead of CLOCK_REALTIME from now on, running at
    // `rate` times the guest's counter rate as measured.
    void anchor(int64_t offset_ns, double rate = 1.0) {
        const int64_t r0 = read_clock_ns(CLOCK_REALTIME);
        const uint64_t counter = vmclock::read_cpu_counter();
        const int64_t r1 = read_clock_ns(CLOCK_REALTIME);
        const int64_t host_ns = r0 + (r1 - r0) / 2 + offset_ns;
        abi().counter_value = counter;
        encode_period(rate / static_cast<long double>(measured_counter_hz()),
                      abi().counter_period_frac_sec, abi().counter_period_shift);
        abi().time_sec = static_cast<uint64_t>(host_ns / 1'000'000'000);
        const long double frac = static_cast<long double>(host_ns % 1'000'000'000) / 1e9L;
        abi().time_frac_sec = static_cast<uint64_t>(std::ldexp(frac, 64));
    }

    // Rewrites the file in place (same inode), `length` bytes of it.
    void write(size_t length = 4096) const { write_to(path_, length, O_TRUNC); }
    // A new file renamed over the path: another inode.
    void replace() const {
        const std::string tmp = path_ + ".new";
        write_to(tmp, 4096, O_TRUNC);
        if (rename(tmp.c_str(), path_.c_str()) != 0) throw std::runtime_error("rename " + tmp);
    }

  private:
    void write_to(const std::string& path, size_t length, int flags) const {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
        if (fd < 0) throw std::runtime_error("open " + path);
        const ssize_t n = ::write(fd, bytes_, length);
        ::close(fd);
        if (n != static_cast<ssize_t>(length)) throw std::runtime_error("write " + path);
    }

    TempDir dir_{"vmr-page"};
    std::string path_;
    alignas(8) unsigned char bytes_[4096];
};

}  // namespace vmrefclock::test

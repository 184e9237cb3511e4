// A reader of AWS ClockBound's v2 segment written from the published format alone
// (../shared/ARCHITECTURE.md "Bounded time for applications"), by byte offsets, without
// the project's writer or client headers: what it accepts, a ClockBound client accepts.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace vmrefclock::test {

struct ReferenceSegment {
    uint32_t segsize = 0;
    uint16_t version = 0;
    uint16_t generation = 0;
    int64_t as_of_sec = 0, as_of_nsec = 0;
    int64_t void_after_sec = 0, void_after_nsec = 0;
    int64_t bound_nsec = 0;
    uint64_t disruption_marker = 0;
    uint32_t max_drift_ppb = 0;
    int32_t clock_status = 0;  // 0 Unknown, 1 Synchronized, 2 FreeRunning, 3 Disrupted
    uint8_t clock_disruption_support_enabled = 0;
};

struct ReferenceRead {
    std::optional<ReferenceSegment> segment;  // set when accepted
    std::string rejected;                     // why not, when not
};

template <typename T>
T reference_field(const unsigned char* bytes, size_t offset) {
    T v;
    std::memcpy(&v, bytes + offset, sizeof v);  // native endianness
    return v;
}

// Magic, version 2, generation > 0 and even, segsize >= 80; the body copied; the
// generation re-read and unchanged.
inline ReferenceRead reference_read(const std::string& path) {
    ReferenceRead r;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r.rejected = "cannot open " + path;
        return r;
    }
    unsigned char b[80];
    const ssize_t n = pread(fd, b, sizeof b, 0);
    uint16_t generation_again = 0;
    const ssize_t m = pread(fd, &generation_again, sizeof generation_again, 14);
    ::close(fd);
    if (n != static_cast<ssize_t>(sizeof b) || m != 2) {
        r.rejected = "shorter than 80 bytes";
        return r;
    }
    ReferenceSegment s;
    const uint32_t magic0 = reference_field<uint32_t>(b, 0);
    const uint32_t magic1 = reference_field<uint32_t>(b, 4);
    s.segsize = reference_field<uint32_t>(b, 8);
    s.version = reference_field<uint16_t>(b, 12);
    s.generation = reference_field<uint16_t>(b, 14);
    s.as_of_sec = reference_field<int64_t>(b, 16);
    s.as_of_nsec = reference_field<int64_t>(b, 24);
    s.void_after_sec = reference_field<int64_t>(b, 32);
    s.void_after_nsec = reference_field<int64_t>(b, 40);
    s.bound_nsec = reference_field<int64_t>(b, 48);
    s.disruption_marker = reference_field<uint64_t>(b, 56);
    s.max_drift_ppb = reference_field<uint32_t>(b, 64);
    s.clock_status = reference_field<int32_t>(b, 68);
    s.clock_disruption_support_enabled = b[72];
    if (magic0 != 0x414D5A4Eu || magic1 != 0x43420200u) {
        r.rejected = "bad magic";
    } else if (s.segsize < 80) {
        r.rejected = "segsize " + std::to_string(s.segsize) + " < 80";
    } else if (s.version != 2) {
        r.rejected = "version " + std::to_string(s.version);
    } else if (s.generation == 0 || (s.generation & 1) != 0) {
        r.rejected = "generation " + std::to_string(s.generation);
    } else if (generation_again != s.generation) {
        r.rejected = "generation changed during the read";
    } else if (s.max_drift_ppb >= 1'000'000'000u) {
        r.rejected = "max_drift_ppb >= 1e9";
    } else {
        r.segment = s;
    }
    return r;
}

}  // namespace vmrefclock::test

// Fuzz target: the SOCK encoding, to_sock_sample, from arbitrary Sample values (any
// time, any double offset: NaN, infinities, subnormals; any leap value), then sent by a
// ChronySockSink to a datagram socket standing in for chronyd. Properties beyond "no
// crash, no UB":
// - tv is time_ns floored to the microsecond, with 0 <= tv_usec < 1e6;
// - the offset is the sample's, in seconds, unchanged otherwise;
// - pulse 0, the SOCK magic, a leap value chrony accepts (0, 1, 2);
// - the datagram chronyd receives is exactly those 40 bytes.
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "ipc/chrony/chrony_sock.h"
#include "tests/fuzz/fuzz_check.h"

using namespace vmrefclock;

namespace {

template <typename T>
T take(const uint8_t*& data, size_t& size) {
    T v{};
    const size_t n = std::min(size, sizeof v);
    std::memcpy(&v, data, n);
    data += n;
    size -= n;
    return v;
}

// A bound datagram socket playing chronyd, and a sink feeding it.
struct Chronyd {
    std::string dir;
    int fd = -1;
    std::unique_ptr<ChronySockSink> sink;
};

Chronyd& chronyd() {
    static Chronyd* c = [] {
        auto* made = new Chronyd;
        char tmpl[] = "/tmp/vmr-fuzz-sock-XXXXXX";
        FUZZ_CHECK(mkdtemp(tmpl) != nullptr, "mkdtemp");
        made->dir = tmpl;
        std::atexit([] { std::filesystem::remove_all(chronyd().dir); });
        spdlog::set_level(spdlog::level::off);
        const std::string path = made->dir + "/chrony.sock";
        made->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        FUZZ_CHECK(bind(made->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
        made->sink = std::make_unique<ChronySockSink>(path);
        return made;
    }();
    return *c;
}

int64_t floor_div(int64_t a, int64_t b) {
    return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    chronyd();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Sample sample;
    sample.time_ns = take<int64_t>(data, size);
    sample.offset_ns = take<double>(data, size);
    sample.delay_ns = take<int64_t>(data, size);
    sample.error_ns = take<int64_t>(data, size);
    sample.readings_used = take<int>(data, size);
    sample.leap = static_cast<Leap>(take<int>(data, size));

    const SockSample s = to_sock_sample(sample);
    const int64_t us = floor_div(sample.time_ns, 1000);
    FUZZ_CHECK(s.tv.tv_usec >= 0 && s.tv.tv_usec < 1'000'000,
               "tv_usec " + std::to_string(s.tv.tv_usec));
    FUZZ_CHECK(static_cast<__int128>(s.tv.tv_sec) * 1'000'000 + s.tv.tv_usec == us,
               "tv is not time_ns floored to the microsecond: " + std::to_string(sample.time_ns));
    const double expected = sample.offset_ns * 1e-9;
    FUZZ_CHECK(std::memcmp(&s.offset, &expected, sizeof expected) == 0 ||
                   (std::isnan(s.offset) && std::isnan(expected)),
               "offset changed on the way");
    FUZZ_CHECK(s.pulse == 0 && s.magic == kSockSampleMagic && s._pad == 0, "fixed fields");
    const int leap = static_cast<int>(sample.leap);
    FUZZ_CHECK(s.leap == ((leap == 1 || leap == 2) ? leap : 0), "leap " + std::to_string(leap));

    // Through the sink to "chronyd": exactly the 40 bytes.
    Chronyd& c = chronyd();
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const int64_t now_ns = int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
    Status sent = c.sink->send(sample, now_ns);
    FUZZ_CHECK(sent.ok(), sent.ok() ? "" : sent.error().message);
    unsigned char got[64];
    const ssize_t n = recv(c.fd, got, sizeof got, MSG_DONTWAIT);
    FUZZ_CHECK(n == static_cast<ssize_t>(sizeof s), "received " + std::to_string(n) + " bytes");
    FUZZ_CHECK(std::memcmp(got, &s, sizeof s) == 0, "the datagram differs from the encoding");
    return 0;
}

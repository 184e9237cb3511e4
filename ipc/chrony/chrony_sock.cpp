#include "ipc/chrony/chrony_sock.h"

#include <linux/sockios.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ipc/sys/unix_address.h"

namespace vmrefclock {

namespace {

// Division rounding toward negative infinity: times before 1970 must not round up.
int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::string seconds_text(int64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) * 1e-9);
    return buf;
}

}  // namespace

SockSample to_sock_sample(const Sample& sample) {
    SockSample s{};
    const int64_t tv_us = floor_div(sample.time_ns, 1000);
    const int64_t tv_sec = floor_div(tv_us, 1'000'000);
    s.tv.tv_sec = static_cast<time_t>(tv_sec);
    s.tv.tv_usec = static_cast<suseconds_t>(tv_us - tv_sec * 1'000'000);
    // chrony pairs the reference tv + offset with the system time tv. The offset is the
    // sample's own (reference - system), sent unchanged: it moves by ppm, so it is the
    // same at tv and at the untruncated time to far under 1 ns. Adding the truncated
    // 0..999 ns here would pair the reference with a system time up to 999 ns too early
    // and bias chrony by +0.5 us on average (measured: +490 ns against the truth).
    s.offset = sample.offset_ns * 1e-9;
    s.pulse = 0;
    switch (sample.leap) {
        case Leap::none:
            s.leap = 0;
            break;
        case Leap::insert:
            s.leap = 1;
            break;
        case Leap::remove:
            s.leap = 2;
            break;
    }
    s.magic = kSockSampleMagic;
    return s;
}

ChronySockSink::ChronySockSink(std::string socket_path, int64_t max_backoff_ns)
    : path_(std::move(socket_path)), max_backoff_ns_(std::max(kMinBackoffNs, max_backoff_ns)) {}

ChronySockSink::~ChronySockSink() {
    close_socket();
}

void ChronySockSink::close_socket() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    delivered_since_connect_ = false;
}

Status ChronySockSink::connect_socket() {
    auto addr = unix_address(path_);
    if (!addr) return addr.error();

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        return errno_error("socket", e);
    }
    if (connect(fd, addr->get(), addr->size()) != 0) {
        int e = errno;
        close(fd);
        return errno_error("connect", e);
    }
    fd_ = fd;
    return Ok{};
}

Status ChronySockSink::send_datagram(const SockSample& datagram) {
    ssize_t n;
    do {
        n = ::send(fd_, &datagram, sizeof datagram, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        int e = errno;
        return errno_error("send", e);
    }
    if (n != static_cast<ssize_t>(sizeof datagram)) {
        return make_error("send: short datagram (" + std::to_string(n) + " bytes)", EMSGSIZE);
    }
    return Ok{};
}

Status ChronySockSink::fail(Error error, int64_t now_mono_ns) {
    close_socket();
    backoff_ns_ = backoff_ns_ == 0 ? kMinBackoffNs : std::min(backoff_ns_ * 2, max_backoff_ns_);
    retry_at_mono_ns_ = now_mono_ns + backoff_ns_;
    spdlog::debug("chrony socket {}: {} (next connect in {})", path_, error.message,
                  seconds_text(backoff_ns_));
    last_error_ = error.message;
    last_error_code_ = error.code;
    return make_error("chrony socket " + path_ + ": " + error.message, error.code);
}

bool ChronySockSink::socket_appeared() {
    if (fd_ >= 0) return false;
    retry_at_mono_ns_ = 0;
    return true;
}

Status ChronySockSink::send(const Sample& sample, int64_t now_mono_ns) {
    const SockSample datagram = to_sock_sample(sample);

    // Up to two rounds: a send on an old connection fails with ECONNREFUSED once chronyd
    // has restarted and re-bound the path; a fresh connect then reaches the new chronyd.
    for (int round = 0; round < 2; ++round) {
        const bool fresh = fd_ < 0;
        if (fresh) {
            if (backoff_ns_ != 0 && now_mono_ns < retry_at_mono_ns_) {
                // The same text as the failure that started the back-off.
                return make_error("chrony socket " + path_ + ": " + last_error_, last_error_code_);
            }
            if (auto c = connect_socket(); !c) return fail(c.error(), now_mono_ns);
        }

        auto s = send_datagram(datagram);
        if (s) {
            if (backoff_ns_ != 0 || !delivered_since_connect_) {
                spdlog::debug("chrony socket {}: delivering samples", path_);
            }
            ++sent_;
            backoff_ns_ = 0;
            retry_at_mono_ns_ = 0;
            delivered_since_connect_ = true;
            last_error_.clear();
            last_error_code_ = 0;
            return Ok{};
        }
        const int e = s.error().code;
        if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
            // chronyd is alive but behind: this sample is late anyway, the next one
            // supersedes it.
            ++dropped_;
            last_error_ = s.error().message + " (sample dropped)";
            last_error_code_ = e;
            spdlog::debug("chrony socket {}: receive queue full, sample dropped", path_);
            return make_error("chrony socket " + path_ + ": " + last_error_, e);
        }
        // Only a connection that had delivered earns an immediate second try.
        if (fresh || !delivered_since_connect_) return fail(s.error(), now_mono_ns);
        spdlog::debug("chrony socket {}: {}; reconnecting", path_, s.error().message);
        close_socket();
    }
    return fail(make_error("unreachable"), now_mono_ns);
}

bool ChronySockSink::all_read() const {
    int queued_bytes = 0;
    return fd_ < 0 || ioctl(fd_, SIOCOUTQ, &queued_bytes) != 0 || queued_bytes == 0;
}

Status ChronySockSink::deliver(const SinkUpdate& update) {
    return send_copies(update, [&](const Sample& s) { return send(s, update.now_mono_ns); });
}

SinkStatus ChronySockSink::status() const {
    SinkStatus s;
    s.name = "chrony";
    s.target = path_;
    s.state = connected()        ? "connected"
              : backoff_ns_ != 0 ? "waiting for chronyd"
                                 : "not connected";
    s.healthy = connected();
    if (!last_error_.empty()) s.last_error = last_error_;
    s.sent = sent_;
    s.dropped = dropped_;
    return s;
}

}  // namespace vmrefclock

#include "tests/sim/live_bench/chrony_cmd.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "sources/system_clock.h"

namespace vmrefclock::bench {

namespace {

// candm.h, protocol version 6. Requests are padded to the length of their reply (the
// server drops shorter ones); offsets below are byte offsets in the packets.
constexpr uint8_t kProtoVersion = 6;
constexpr uint8_t kPktRequest = 1, kPktReply = 2;
constexpr uint16_t kReqTracking = 33, kReqSourcestats = 34;
constexpr uint16_t kRpyTracking = 5, kRpySourcestats = 6;
constexpr size_t kReplyHeader = 28;                    // version .. pad5
constexpr size_t kTrackingLen = kReplyHeader + 76;     // RPY_Tracking up to EOR
constexpr size_t kSourcestatsLen = kReplyHeader + 56;  // RPY_Sourcestats up to EOR

uint32_t be32(const unsigned char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return ntohl(v);
}
uint16_t be16(const unsigned char* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return ntohs(v);
}
double fl(const unsigned char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return chrony_float(v);
}

}  // namespace

double chrony_float(uint32_t network_order) {
    const uint32_t x = ntohl(network_order);
    int32_t exp = static_cast<int32_t>(x >> 25);
    if (exp >= 64) exp -= 128;
    exp -= 25;
    int32_t coef = static_cast<int32_t>(x % (1u << 25));
    if (coef >= (1 << 24)) coef -= (1 << 25);
    return std::ldexp(static_cast<double>(coef), exp);
}

ChronyCmd::ChronyCmd(std::string server, std::string client)
    : server_(std::move(server)), client_(std::move(client)) {}

ChronyCmd::~ChronyCmd() {
    if (fd_ >= 0) {
        close(fd_);
        unlink(client_.c_str());
    }
}

bool ChronyCmd::ensure_open() {
    if (fd_ >= 0) return true;
    sockaddr_un local{}, remote{};
    if (client_.size() >= sizeof local.sun_path || server_.size() >= sizeof remote.sun_path) {
        error_ = "socket path too long";
        return false;
    }
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error_ = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    local.sun_family = AF_UNIX;
    std::strcpy(local.sun_path, client_.c_str());
    unlink(client_.c_str());
    remote.sun_family = AF_UNIX;
    std::strcpy(remote.sun_path, server_.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
        error_ = server_ + ": " + std::strerror(errno);
        close(fd_);
        unlink(client_.c_str());
        fd_ = -1;
        return false;
    }
    return true;
}

bool ChronyCmd::exchange(unsigned char* req, size_t len, unsigned char* rpy, size_t rpy_len,
                         uint16_t expect_reply, int timeout_ms, int64_t* t_pre, int64_t* t_post) {
    if (!ensure_open()) return false;
    // Drop anything stale (a reply that came after an earlier timeout).
    unsigned char junk[512];
    while (recv(fd_, junk, sizeof junk, MSG_DONTWAIT) > 0) {
    }
    const uint32_t seq = ++sequence_;
    req[0] = kProtoVersion;
    req[1] = kPktRequest;
    const uint32_t nseq = htonl(seq);
    std::memcpy(req + 8, &nseq, 4);

    const int64_t pre = read_clock_ns(CLOCK_REALTIME);
    if (send(fd_, req, len, 0) != static_cast<ssize_t>(len)) {
        error_ = std::string("send: ") + std::strerror(errno);
        close(fd_);
        fd_ = -1;
        return false;
    }
    for (;;) {
        pollfd pfd{fd_, POLLIN, 0};
        int rc = ::poll(&pfd, 1, timeout_ms);
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) {
            error_ = "no reply";
            return false;
        }
        ssize_t n = recv(fd_, rpy, rpy_len, 0);
        const int64_t post = read_clock_ns(CLOCK_REALTIME);
        if (n < 0) {
            error_ = std::string("recv: ") + std::strerror(errno);
            return false;
        }
        if (static_cast<size_t>(n) < kReplyHeader || rpy[1] != kPktReply || be32(rpy + 16) != seq)
            continue;  // not ours
        const uint16_t status = be16(rpy + 8);
        if (status != 0) {
            error_ = "chronyd status " + std::to_string(status);
            return false;
        }
        if (be16(rpy + 6) != expect_reply || static_cast<size_t>(n) < rpy_len) {
            error_ = "unexpected reply";
            return false;
        }
        if (t_pre) *t_pre = pre;
        if (t_post) *t_post = post;
        return true;
    }
}

std::optional<Tracking> ChronyCmd::tracking(int64_t* t_pre, int64_t* t_post, int timeout_ms) {
    unsigned char req[kTrackingLen] = {};
    const uint16_t cmd = htons(kReqTracking);
    std::memcpy(req + 4, &cmd, 2);
    unsigned char r[kTrackingLen];
    if (!exchange(req, sizeof req, r, sizeof r, kRpyTracking, timeout_ms, t_pre, t_post))
        return std::nullopt;
    const unsigned char* d = r + kReplyHeader;
    Tracking t;
    t.ref_id = be32(d);
    t.correction_s = fl(d + 40);
    t.last_offset_s = fl(d + 44);
    t.freq_ppm = fl(d + 52);
    t.last_update_interval_s = fl(d + 72);
    return t;
}

std::optional<SourceStats> ChronyCmd::sourcestats(int timeout_ms) {
    unsigned char req[kSourcestatsLen] = {};
    const uint16_t cmd = htons(kReqSourcestats);
    std::memcpy(req + 4, &cmd, 2);  // data.sourcestats.index = 0 (bytes 20..23)
    unsigned char r[kSourcestatsLen];
    if (!exchange(req, sizeof req, r, sizeof r, kRpySourcestats, timeout_ms, nullptr, nullptr))
        return std::nullopt;
    const unsigned char* d = r + kReplyHeader;
    SourceStats s;
    s.n_samples = be32(d + 24);
    s.sd_s = fl(d + 36);
    s.resid_freq_ppm = fl(d + 40);
    s.est_offset_s = fl(d + 48);
    return s;
}

}  // namespace vmrefclock::bench

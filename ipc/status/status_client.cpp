#include "ipc/status/status_client.h"
#include "ipc/sys/unix_address.h"
#include "sources/system_clock.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vmrefclock {

namespace {

// Waits for `events` on fd until the deadline; false on timeout or poll error.
bool wait_for(int fd, short events, int64_t deadline_ns) {
    for (;;) {
        int64_t left_ns = deadline_ns - read_clock_ns(CLOCK_MONOTONIC);
        if (left_ns <= 0) return false;
        pollfd p{fd, events, 0};
        int rc = poll(&p, 1, static_cast<int>((left_ns + 999'999) / 1'000'000));
        if (rc > 0) return true;
        if (rc < 0 && errno != EINTR) return false;
    }
}

}  // namespace

Result<StatusClient> StatusClient::connect(const std::string& socket_path, int64_t timeout_ns) {
    auto addr = unix_address(socket_path);
    if (!addr) return make_error("status socket: " + addr.error().message, addr.error().code);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_error("socket", errno);
    StatusClient client(fd, socket_path);
    int64_t deadline = read_clock_ns(CLOCK_MONOTONIC) + timeout_ns;
    int e = 0;
    // Unix stream sockets say EAGAIN when the listen backlog is full and queue nothing:
    // try again until the deadline.
    for (;;) {
        if (::connect(fd, addr->get(), addr->size()) == 0) return client;
        e = errno;
        if ((e != EAGAIN && e != EINTR) || read_clock_ns(CLOCK_MONOTONIC) >= deadline) break;
        usleep(10'000);
    }
    switch (e) {
        case ENOENT:
            return make_error("vmrefclockd is not running (no socket at " + socket_path + ")", e);
        case ECONNREFUSED:
            return make_error(
                "vmrefclockd is not running (nothing listening on " + socket_path + ")", e);
        case EACCES:
            return make_error("permission denied on " + socket_path +
                                  " (run as root or as a member of the socket's group)",
                              e);
        case EAGAIN:
        case EINTR:
            return make_error("vmrefclockd is not answering on " + socket_path, e);
        default:
            return errno_error("connect " + socket_path, e);
    }
}

StatusClient::StatusClient(StatusClient&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
}

StatusClient& StatusClient::operator=(StatusClient&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) close(fd_);
        fd_ = other.fd_;
        path_ = std::move(other.path_);
        buffer_ = std::move(other.buffer_);
        other.fd_ = -1;
    }
    return *this;
}

StatusClient::~StatusClient() {
    if (fd_ >= 0) close(fd_);
}

Status StatusClient::send_line(const std::string& line, int64_t timeout_ns) {
    std::string data = line + "\n";
    int64_t deadline = read_clock_ns(CLOCK_MONOTONIC) + timeout_ns;
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n >= 0) {
            done += static_cast<size_t>(n);
        } else if (errno == EAGAIN) {
            if (!wait_for(fd_, POLLOUT, deadline)) {
                return make_error("timed out sending to " + path_, ETIMEDOUT);
            }
        } else if (errno != EINTR) {
            return errno_error("sending to " + path_, errno);
        }
    }
    return Ok{};
}

Result<std::string> StatusClient::read_line(int64_t timeout_ns, size_t max_bytes) {
    int64_t deadline = read_clock_ns(CLOCK_MONOTONIC) + timeout_ns;
    for (;;) {
        size_t nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        if (buffer_.size() > max_bytes) return make_error("response from " + path_ + " too long");
        char buf[65536];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            buffer_.append(buf, static_cast<size_t>(n));
        } else if (n == 0) {
            return make_error("vmrefclockd closed the connection on " + path_, EPIPE);
        } else if (errno == EAGAIN) {
            if (!wait_for(fd_, POLLIN, deadline)) {
                return make_error("timed out waiting for vmrefclockd on " + path_, ETIMEDOUT);
            }
        } else if (errno != EINTR) {
            return errno_error("reading from " + path_, errno);
        }
    }
}

Result<nlohmann::json> StatusClient::request(const nlohmann::json& request, int64_t timeout_ns) {
    // Invalid UTF-8 from the command line (a --reason) is replaced, not thrown on.
    Status sent = send_line(request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                            timeout_ns);
    Result<std::string> line = std::string();
    if (sent) {
        line = read_line(timeout_ns);
    } else {
        // A server that turned us away ("too many clients") wrote its answer and closed
        // before our request went out: the answer is in our receive queue. Say that,
        // not "Broken pipe".
        line = read_line(std::min<int64_t>(timeout_ns, 500'000'000));
        if (!line) return sent.error();
    }
    if (!line) return line.error();
    nlohmann::json response = nlohmann::json::parse(*line, nullptr, false);
    if (response.is_discarded() || !response.is_object()) {
        return make_error("vmrefclockd sent a malformed response on " + path_);
    }
    return response;
}

}  // namespace vmrefclock

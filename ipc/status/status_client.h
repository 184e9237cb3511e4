// The client side of the status socket, shared by vmrefclockctl and the tests:
// connect, send one request line, read one response line, all with a deadline.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "filter/result.h"

namespace vmrefclock {

class StatusClient {
  public:
    // Errors say in words what is wrong: "vmrefclockd is not running (no socket at
    // PATH)", "... (nothing listening on PATH)", "permission denied on PATH ...".
    static Result<StatusClient> connect(const std::string& socket_path,
                                        int64_t timeout_ns = 5'000'000'000);
    StatusClient(StatusClient&& other) noexcept;
    StatusClient& operator=(StatusClient&& other) noexcept;
    ~StatusClient();

    // Writes `line` and a newline; fails if the deadline passes first.
    Status send_line(const std::string& line, int64_t timeout_ns = 5'000'000'000);
    // Reads up to the next newline (not included); bytes after it stay buffered.
    Result<std::string> read_line(int64_t timeout_ns = 5'000'000'000, size_t max_bytes = 64 << 20);
    // One request/response round trip; the response is any JSON object, ok or not.
    Result<nlohmann::json> request(const nlohmann::json& request,
                                   int64_t timeout_ns = 5'000'000'000);

    int fd() const { return fd_; }

  private:
    explicit StatusClient(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_ = -1;
    std::string path_;
    std::string buffer_;
};

}  // namespace vmrefclock

// The address of a unix socket file. sun_path holds 107 bytes and a NUL: a longer path
// is refused with an error naming it, never cut short (a cut path names another file).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>

#include "filter/result.h"

namespace vmrefclock {

// The longest socket path sun_path holds, without its terminating NUL.
inline constexpr size_t kMaxUnixPathBytes = sizeof(sockaddr_un::sun_path) - 1;

struct UnixAddress {
    sockaddr_un address{};
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&address); }
    socklen_t size() const { return sizeof address; }
};

// Errors (code ENAMETOOLONG or EINVAL): "unix socket path \"<path>\" is 200 bytes; at
// most 107 fit in sun_path", "empty unix socket path".
Result<UnixAddress> unix_address(const std::string& path);

}  // namespace vmrefclock

#include "ipc/sys/unix_address.h"

#include <cerrno>
#include <cstring>

namespace vmrefclock {

Result<UnixAddress> unix_address(const std::string& path) {
    if (path.empty()) return make_error("empty unix socket path", EINVAL);
    if (path.size() > kMaxUnixPathBytes) {
        return make_error("unix socket path \"" + path + "\" is " + std::to_string(path.size()) +
                              " bytes; at most " + std::to_string(kMaxUnixPathBytes) +
                              " fit in sun_path",
                          ENAMETOOLONG);
    }
    if (path.find('\0') != std::string::npos) {
        return make_error(
            "unix socket path \"" + path.substr(0, path.find('\0')) + "...\" holds a NUL byte",
            EINVAL);
    }
    UnixAddress out;
    out.address.sun_family = AF_UNIX;
    std::memcpy(out.address.sun_path, path.data(), path.size());
    return out;
}

}  // namespace vmrefclock

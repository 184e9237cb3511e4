#include "ipc/status/status_socket_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ipc/sys/unix_address.h"

namespace vmrefclock {

FileIdentity identity_of(const std::string& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return {};
    return {st.st_dev, st.st_ino, true};
}

bool still_names(const std::string& path, const FileIdentity& id) {
    const FileIdentity now = identity_of(path);
    return id.valid && now.valid && now.dev == id.dev && now.ino == id.ino;
}

std::string parent_directory(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

Status ensure_directory(const std::string& dir, gid_t gid) {
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return make_error(dir + " exists and is not a directory");
        return Ok{};
    }
    if (errno != ENOENT) return errno_error("stat " + dir, errno);
    const std::string parent = parent_directory(dir);
    if (parent != dir && parent != "/" && parent != ".") {
        if (stat(parent.c_str(), &st) != 0) {
            if (Status made = ensure_directory(parent, static_cast<gid_t>(-1)); !made) return made;
            chmod(parent.c_str(), 0755);
        }
    }
    // The umask cannot widen 0750, and the mode is set again below in case it narrowed it.
    if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
        return errno_error("creating directory " + dir, errno);
    }
    if (gid != static_cast<gid_t>(-1) && chown(dir.c_str(), static_cast<uid_t>(-1), gid) != 0) {
        return errno_error("chown " + dir, errno);
    }
    if (chmod(dir.c_str(), 0750) != 0) return errno_error("chmod " + dir, errno);
    return Ok{};
}

std::string InstanceLock::path_for(const std::string& socket_path) {
    return socket_path + ".lock";
}

Result<InstanceLock> InstanceLock::acquire(const std::string& path) {
    InstanceLock lock;
    lock.path_ = path;
    lock.fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (lock.fd_ < 0) return errno_error("opening lock file " + path, errno);
    if (flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        if (e != EWOULDBLOCK) return errno_error("locking " + path, e);
        char buf[32] = {};
        const ssize_t n = pread(lock.fd_, buf, sizeof buf - 1, 0);
        const long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
        return make_error(
            "another vmrefclockd " +
                (pid > 0 ? "(PID " + std::to_string(pid) + ")" : std::string("(PID unknown)")) +
                " holds " + path + ": stop it first",
            e);
    }
    const std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(lock.fd_, 0) != 0 || pwrite(lock.fd_, pid.data(), pid.size(), 0) < 0) {
        return errno_error("writing our PID into " + path, errno);
    }
    struct stat st {};
    if (fstat(lock.fd_, &st) == 0) lock.id_ = {st.st_dev, st.st_ino, true};
    return lock;
}

InstanceLock::InstanceLock(InstanceLock&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), id_(other.id_) {
    other.fd_ = -1;
}

InstanceLock& InstanceLock::operator=(InstanceLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) close(fd_);
        fd_ = other.fd_;
        path_ = std::move(other.path_);
        id_ = other.id_;
        other.fd_ = -1;
    }
    return *this;
}

InstanceLock::~InstanceLock() {
    // The file stays: unlinking a lock file lets two processes lock two different files.
    if (fd_ >= 0) close(fd_);
}

Result<int> listen_on_status_socket(const std::string& path, gid_t gid, const std::string& group,
                                    FileIdentity& identity) {
    auto addr = unix_address(path);
    if (!addr) return make_error("status socket: " + addr.error().message, addr.error().code);

    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return make_error(path + " exists and is not a socket");
        // A socket file nobody listens on is left over from a crash: replace it. One
        // somebody answers on belongs to a running daemon: never steal it.
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        bool live =
            probe >= 0 && (connect(probe, addr->get(), addr->size()) == 0 || errno == EAGAIN);
        if (probe >= 0) close(probe);
        if (live) return make_error("another process is listening on " + path);
        if (unlink(path.c_str()) != 0) return errno_error("removing stale " + path, errno);
    }

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_error("socket", errno);
    auto fail = [fd](Error e) -> Result<int> {
        close(fd);
        return e;
    };
    // The umask makes bind() create the file 0660 at once: no window where it is wider.
    mode_t old_umask = umask(0117);
    int rc = bind(fd, addr->get(), addr->size());
    umask(old_umask);
    if (rc != 0) return fail(errno_error("bind " + path, errno));
    identity = identity_of(path);
    if (chmod(path.c_str(), 0660) != 0) return fail(errno_error("chmod " + path, errno));
    if (gid != static_cast<gid_t>(-1) && chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
        return fail(errno_error("chown " + path + " to group " + group, errno));
    }
    if (::listen(fd, 16) != 0) return fail(errno_error("listen " + path, errno));
    return fd;
}

}  // namespace vmrefclock

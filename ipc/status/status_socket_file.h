// The status socket's place in the file system: its directory (created when missing),
// the single-instance lock beside the socket, and the listening socket itself.
#pragma once

#include <sys/types.h>

#include <string>

#include "filter/result.h"

namespace vmrefclock {

// Which file a path named when we created it, so we never unlink a successor's.
struct FileIdentity {
    dev_t dev = 0;
    ino_t ino = 0;
    bool valid = false;
};
FileIdentity identity_of(const std::string& path);
// True when `path` still names the file `id` was taken from.
bool still_names(const std::string& path, const FileIdentity& id);

std::string parent_directory(const std::string& path);

// Creates `dir` when it is missing, with its missing parents (0755): `dir` itself gets
// mode 0750 and group `gid` ((gid_t)-1: the creator's). An existing directory is left
// as it is.
Status ensure_directory(const std::string& dir, gid_t gid);

// One vmrefclockd per status socket: flock() on a file beside it, holding our PID.
class InstanceLock {
  public:
    // The lock file for a status socket: "<socket>.lock".
    static std::string path_for(const std::string& socket_path);
    // Fails when another process holds the lock; the message names its PID.
    static Result<InstanceLock> acquire(const std::string& path);

    InstanceLock() = default;
    InstanceLock(InstanceLock&& other) noexcept;
    InstanceLock& operator=(InstanceLock&& other) noexcept;
    ~InstanceLock();

    bool held() const { return fd_ >= 0; }
    const std::string& path() const { return path_; }
    // True while the path still names the file we locked (not deleted or replaced).
    bool still_ours() const { return fd_ >= 0 && still_names(path_, id_); }

  private:
    int fd_ = -1;
    std::string path_;
    FileIdentity id_;
};

// Binds and listens on a unix stream socket at `path`: replaces a stale socket file,
// refuses a live one or any other file, mode 0660 from the start, group `gid`
// ((gid_t)-1: unchanged). Returns the non-blocking listening fd.
Result<int> listen_on_status_socket(const std::string& path, gid_t gid, const std::string& group,
                                    FileIdentity& identity);

}  // namespace vmrefclock

// Watches one directory's entries with inotify, on the event loop: the chrony socket's
// directory (a restarted chronyd re-creates its socket), the status socket's (someone
// deleted it) and /dev (a clock device appears). A directory that does not exist, or is
// removed, is waited for: the nearest existing ancestor is watched until it appears.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "filter/result.h"
#include "ipc/sys/event_loop.h"

namespace vmrefclock {

class DirectoryWatch {
  public:
    // `name` is the entry that appeared, vanished, was renamed or changed attributes;
    // "" when the directory itself appeared or vanished, or events were lost: then
    // anything in it may have changed.
    using Handler = std::function<void(const std::string& name)>;

    // Fails only when inotify itself is unavailable (no fds, no watches left): callers
    // then fall back to their timers.
    static Result<std::unique_ptr<DirectoryWatch>> create(EventLoop& loop, std::string dir,
                                                          Handler on_change);
    ~DirectoryWatch();
    DirectoryWatch(const DirectoryWatch&) = delete;
    DirectoryWatch& operator=(const DirectoryWatch&) = delete;

    const std::string& dir() const { return dir_; }
    // True while the directory itself is watched (false while waiting for it). Read by
    // tests only: the only way to wait for the switch to the directory without a race.
    bool watching_dir() const { return on_dir_; }

  private:
    DirectoryWatch(EventLoop& loop, std::string dir, Handler on_change);
    // (Re)places the one watch on the directory or its nearest existing ancestor.
    void arm();
    void on_readable();

    EventLoop& loop_;
    std::string dir_;
    Handler handler_;
    int fd_ = -1;
    int wd_ = -1;
    bool on_dir_ = false;
};

}  // namespace vmrefclock

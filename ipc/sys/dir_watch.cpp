#include "ipc/sys/dir_watch.h"

#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

namespace vmrefclock {

namespace {

constexpr uint32_t kEntryEvents =
    IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB | IN_CLOSE_WRITE;
constexpr uint32_t kSelfEvents = IN_DELETE_SELF | IN_MOVE_SELF;

std::string parent_of(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Result<std::unique_ptr<DirectoryWatch>> DirectoryWatch::create(EventLoop& loop, std::string dir,
                                                               Handler on_change) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    std::unique_ptr<DirectoryWatch> watch(
        new DirectoryWatch(loop, std::move(dir), std::move(on_change)));
    watch->fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (watch->fd_ < 0) return errno_error("inotify_init1", errno);
    DirectoryWatch* self = watch.get();
    if (Status added = loop.add(watch->fd_, EPOLLIN, [self](uint32_t) { self->on_readable(); });
        !added) {
        return added.error();
    }
    watch->arm();
    if (watch->wd_ < 0) return errno_error("inotify_add_watch " + watch->dir_, errno);
    return watch;
}

DirectoryWatch::DirectoryWatch(EventLoop& loop, std::string dir, Handler on_change)
    : loop_(loop), dir_(std::move(dir)), handler_(std::move(on_change)) {}

DirectoryWatch::~DirectoryWatch() {
    if (fd_ < 0) return;
    loop_.remove(fd_);
    close(fd_);  // drops the watches with it
}

void DirectoryWatch::arm() {
    if (wd_ >= 0) inotify_rm_watch(fd_, wd_);  // EINVAL when the kernel dropped it: fine
    wd_ = -1;
    on_dir_ = false;
    // The directory if it exists, else the nearest ancestor that does; the loop repeats
    // when the directory appeared between the check and the watch.
    for (int attempt = 0; attempt < 8; ++attempt) {
        std::string target = dir_;
        while (!is_directory(target) && target != "/" && target != ".") target = parent_of(target);
        const bool is_dir = target == dir_;
        wd_ = inotify_add_watch(
            fd_, target.c_str(),
            (is_dir ? kEntryEvents : IN_CREATE | IN_MOVED_TO) | kSelfEvents | IN_ONLYDIR);
        if (wd_ < 0) return;
        on_dir_ = is_dir;
        if (on_dir_ || !is_directory(dir_)) return;
        inotify_rm_watch(fd_, wd_);
        wd_ = -1;
    }
}

void DirectoryWatch::on_readable() {
    alignas(inotify_event) char buf[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
    bool rearm = false;
    bool everything = false;
    std::vector<std::string> names;
    for (;;) {
        const ssize_t n = read(fd_, buf, sizeof buf);
        if (n <= 0) break;  // EAGAIN: drained
        for (ssize_t at = 0; at < n;) {
            const auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
            at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
            if (ev->mask & IN_Q_OVERFLOW) {
                everything = true;
                continue;
            }
            if (ev->wd != wd_) continue;  // a watch replaced since
            if (ev->mask & (kSelfEvents | IN_IGNORED)) {
                rearm = true;
                continue;
            }
            if (!on_dir_) {
                rearm = true;  // something appeared on the way to the directory
                continue;
            }
            if (ev->len > 0) names.emplace_back(ev->name);
        }
    }
    if (rearm) {
        const bool was_on_dir = on_dir_;
        arm();
        if (was_on_dir || on_dir_) everything = true;
    }
    // Copies: a handler may destroy this watch (the owner replacing it).
    Handler handler = handler_;
    if (everything) {
        handler("");
        return;
    }
    std::string last;
    for (const auto& name : names) {
        if (name == last) continue;  // CREATE, ATTRIB, CLOSE_WRITE of one file: once
        last = name;
        handler(name);
    }
}

}  // namespace vmrefclock

#include "ipc/status/status_server.h"

#include <grp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <spdlog/spdlog.h>

#include "ipc/sys/peer_credentials.h"
#include "sources/system_clock.h"

namespace vmrefclock {

namespace {

constexpr size_t kReadChunk = 4096;

int64_t now_ns() {
    return read_clock_ns(CLOCK_MONOTONIC);
}

std::string base_name(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<std::unique_ptr<StatusServer>> StatusServer::create(EventLoop& loop,
                                                           StatusServerOptions options,
                                                           StatusCallbacks callbacks) {
    std::unique_ptr<StatusServer> server(
        new StatusServer(loop, std::move(options), std::move(callbacks)));
    if (!server->options_.group.empty()) {
        group grp{};
        group* found = nullptr;
        std::vector<char> buf(16384);
        int rc = getgrnam_r(server->options_.group.c_str(), &grp, buf.data(), buf.size(), &found);
        if (rc != 0 || !found) {
            return make_error("status socket group \"" + server->options_.group + "\" not found",
                              rc);
        }
        server->group_gid_ = grp.gr_gid;
        server->have_group_ = true;
    }
    const std::string& path = server->options_.socket_path;
    if (Status dir = ensure_directory(parent_directory(path), server->group_gid_); !dir) {
        return dir.error();
    }
    auto lock = InstanceLock::acquire(InstanceLock::path_for(path));
    if (!lock) return lock.error();
    server->lock_ = std::move(*lock);
    if (Status opened = server->open_socket(); !opened) return opened.error();
    server->watch_directory();
    return server;
}

StatusServer::StatusServer(EventLoop& loop, StatusServerOptions options, StatusCallbacks callbacks)
    : loop_(loop),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      timer_(loop, [this] { on_timer(); }),
      recheck_timer_(loop, [this] { check_socket(); }) {}

StatusServer::~StatusServer() {
    dir_watch_.reset();
    while (!clients_.empty()) close_client(clients_.begin()->first);
    close_socket();
}

Status StatusServer::open_socket() {
    auto fd = listen_on_status_socket(options_.socket_path, group_gid_, options_.group, socket_id_);
    if (!fd) return fd.error();
    listen_fd_ = *fd;
    accepting_ = true;
    return loop_.add(listen_fd_, EPOLLIN, [this](uint32_t) { on_accept(); });
}

void StatusServer::close_socket() {
    if (listen_fd_ < 0) return;
    loop_.remove(listen_fd_);
    close(listen_fd_);
    listen_fd_ = -1;
    if (still_names(options_.socket_path, socket_id_)) unlink(options_.socket_path.c_str());
    socket_id_ = {};
}

void StatusServer::watch_directory() {
    const std::string socket_name = base_name(options_.socket_path);
    const std::string lock_name = base_name(lock_.path());
    auto watch =
        DirectoryWatch::create(loop_, parent_directory(options_.socket_path),
                               [this, socket_name, lock_name](const std::string& name) {
                                   if (name.empty() || name == socket_name || name == lock_name)
                                       check_socket();
                               });
    if (watch) {
        dir_watch_ = std::move(*watch);
    } else {
        spdlog::debug("status socket: no directory watch: {}", watch.error().message);
    }
    // Also by the clock: inotify says nothing when a directory above the socket's is
    // renamed or removed.
    recheck_timer_.arm(options_.recheck_interval_ns, options_.recheck_interval_ns);
}

// The socket file (or its directory, or the lock beside it) may have been deleted:
// put back what is missing, so vmrefclockctl finds the daemon again.
void StatusServer::check_socket() {
    const bool socket_ok = listen_fd_ >= 0 && still_names(options_.socket_path, socket_id_);
    if (socket_ok && lock_.still_ours()) return;
    const std::string& path = options_.socket_path;
    if (Status dir = ensure_directory(parent_directory(path), group_gid_); !dir) {
        spdlog::warn("status socket: {}", dir.error().message);
        return;
    }
    if (!lock_.still_ours()) {
        auto lock = InstanceLock::acquire(InstanceLock::path_for(path));
        if (!lock) {
            close_socket();
            spdlog::error("status socket: lock file {} was replaced: {}", lock_.path(),
                          lock.error().message);
            if (on_lock_lost) on_lock_lost(lock.error().message);
            return;
        }
        lock_ = std::move(*lock);
    }
    if (socket_ok) return;
    spdlog::warn("status socket {} was removed; creating it again", path);
    close_socket();
    if (Status opened = open_socket(); !opened) {
        spdlog::warn("status socket: {}", opened.error().message);
    }
}

bool StatusServer::peer_may_reset(int fd, const ucred& cred) const {
    if (cred.uid == 0) return true;
    return have_group_ && peer_in_group(fd, cred, group_gid_);
}

void StatusServer::on_accept() {
    // Bounded per wakeup so a connect storm cannot starve the sampling timers.
    for (int i = 0; i < 32; ++i) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
            // Out of fds: the listen socket would stay readable and spin the loop, so
            // stop watching it for a second. Logged once a minute.
            const int64_t now = now_ns();
            if (now - last_accept_warning_ns_ >= 60'000'000'000 || last_accept_warning_ns_ == 0) {
                spdlog::warn("status socket: accept: {}", std::strerror(errno));
                last_accept_warning_ns_ = now;
            }
            loop_.modify(listen_fd_, 0);
            accepting_ = false;
            arm_timer();
            return;
        }
        admit(fd);
    }
}

void StatusServer::turn_away(int fd, const std::string& why) {
    // Fits any socket buffer, so a non-blocking send cannot fall short.
    std::string line = status_error_line(why) + "\n";
    (void)send(fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    close(fd);
}

void StatusServer::admit(int fd) {
    StatusPeer peer;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        peer.uid = cred.uid;
        peer.may_reset = peer_may_reset(fd, cred);
    }
    if (clients_.size() >= options_.max_clients) {
        if (!peer.may_reset || clients_.empty()) return turn_away(fd, "too many clients");
        // A privileged peer is never locked out: the longest-idle client makes room.
        auto victim = std::min_element(clients_.begin(), clients_.end(), [](auto& a, auto& b) {
            return a.second->last_activity_ns < b.second->last_activity_ns;
        });
        const int victim_fd = victim->first;
        loop_.remove(victim_fd);
        clients_.erase(victim);
        turn_away(victim_fd, "too many clients (closed to make room for a privileged client)");
    }
    auto client = std::make_unique<Client>();
    client->fd = fd;
    client->peer = peer;
    client->last_activity_ns = now_ns();
    Status added = loop_.add(fd, EPOLLIN | EPOLLRDHUP,
                             [this, fd](uint32_t events) { on_client_event(fd, events); });
    if (!added) {
        spdlog::warn("status socket: {}", added.error().message);
        close(fd);
        return;
    }
    clients_[fd] = std::move(client);
    arm_timer();
}

void StatusServer::on_client_event(int fd, uint32_t events) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client& client = *it->second;
    if (events & (EPOLLERR | EPOLLHUP)) {
        // Both directions are gone: nothing can be answered any more.
        close_client(fd);
        return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP)) && client.reading && !client.closing) {
        if (!read_from(client)) return;
    }
    if (!flush(client)) return;
    update_interest(client);
    arm_timer();
}

bool StatusServer::read_from(Client& client) {
    char buf[kReadChunk];
    // One read per wakeup: level-triggered epoll brings us back, and other fds get
    // their turn in between.
    ssize_t n = read(client.fd, buf, sizeof buf);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return true;
        close_client(client.fd);
        return false;
    }
    if (n == 0) {
        // The peer finished sending: answer an unterminated last request, then close.
        std::string rest;
        rest.swap(client.input);
        if (!rest.empty()) handle_line(client, rest);
        client.closing = true;
        return true;
    }
    client.last_activity_ns = now_ns();
    client.input.append(buf, static_cast<size_t>(n));
    process_input(client);
    return true;
}

void StatusServer::process_input(Client& client) {
    size_t start = 0;
    // Stop at the output bound: the rest waits in `input` until the client reads.
    while (!client.closing && client.output.size() <= options_.max_pending_output_bytes) {
        size_t nl = client.input.find('\n', start);
        if (nl == std::string::npos) break;
        handle_line(client, client.input.substr(start, nl - start));
        start = nl + 1;
    }
    client.input.erase(0, start);
    if (client.closing) return;
    // Only the unterminated tail counts: complete lines waiting for output room are fine.
    size_t tail_start = client.input.rfind('\n');
    size_t tail = tail_start == std::string::npos ? client.input.size()
                                                  : client.input.size() - tail_start - 1;
    if (tail == 0) {
        client.request_started_ns = 0;
    } else if (client.request_started_ns == 0 || start > 0) {
        client.request_started_ns = client.last_activity_ns;
    }
    if (tail > options_.max_request_bytes) {
        client.input.clear();
        queue(client, status_error_line("request too long (limit " +
                                        std::to_string(options_.max_request_bytes) + " bytes)"));
        client.closing = true;
    }
}

void StatusServer::handle_line(Client& client, const std::string& raw) {
    if (client.closing) return;
    std::string_view line = raw;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > options_.max_request_bytes) {
        queue(client, status_error_line("request too long (limit " +
                                        std::to_string(options_.max_request_bytes) + " bytes)"));
        client.closing = true;
        return;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank line
    queue(client, answer_status_request(line, callbacks_, client.peer, options_.max_samples));
}

void StatusServer::queue(Client& client, const std::string& response_line) {
    client.output += response_line;
    client.output += '\n';
}

bool StatusServer::flush(Client& client) {
    while (!client.output.empty()) {
        ssize_t n = send(client.fd, client.output.data(), client.output.size(),
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) break;
            close_client(client.fd);
            return false;
        }
        client.output.erase(0, static_cast<size_t>(n));
        client.last_activity_ns = now_ns();
    }
    if (client.closing && client.output.empty()) {
        close_client(client.fd);
        return false;
    }
    // A client that sends but does not read is not read from until it catches up; its
    // request clock stands still meanwhile.
    const bool was_reading = client.reading;
    client.reading = client.output.size() <= options_.max_pending_output_bytes;
    if (!was_reading && client.reading && client.request_started_ns != 0) {
        client.request_started_ns = now_ns();
    }
    if (client.reading && !client.closing && client.input.find('\n') != std::string::npos) {
        process_input(client);
        if (client.closing && client.output.empty()) {
            close_client(client.fd);
            return false;
        }
    }
    return true;
}

void StatusServer::update_interest(Client& client) {
    uint32_t events = 0;
    if (client.reading && !client.closing) events |= EPOLLIN | EPOLLRDHUP;
    if (!client.output.empty()) events |= EPOLLOUT;
    loop_.modify(client.fd, events);
}

void StatusServer::close_client(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    loop_.remove(fd);
    close(fd);
    clients_.erase(it);
}

// One one-shot timer at the earliest deadline: an idle client, a request that is taking
// too long, or a second after accept ran out of fds.
void StatusServer::arm_timer() {
    int64_t next = std::numeric_limits<int64_t>::max();
    for (const auto& [fd, c] : clients_) {
        next = std::min(next, c->last_activity_ns + options_.idle_timeout_ns);
        if (c->request_started_ns != 0 && c->reading) {
            next = std::min(next, c->request_started_ns + options_.request_timeout_ns);
        }
    }
    if (!accepting_) next = std::min(next, now_ns() + 1'000'000'000);
    if (next == std::numeric_limits<int64_t>::max()) {
        timer_.disarm();
        return;
    }
    timer_.arm(std::max<int64_t>(next - now_ns(), 1), 0);
}

void StatusServer::on_timer() {
    if (!accepting_ && listen_fd_ >= 0) {
        loop_.modify(listen_fd_, EPOLLIN);
        accepting_ = true;
    }
    const int64_t now = now_ns();
    std::vector<int> slow, idle;
    for (auto& [fd, c] : clients_) {
        if (c->request_started_ns != 0 && c->reading && !c->closing &&
            now - c->request_started_ns >= options_.request_timeout_ns) {
            slow.push_back(fd);
        } else if (now - c->last_activity_ns >= options_.idle_timeout_ns) {
            idle.push_back(fd);
        }
    }
    for (int fd : slow) {
        // A request trickling in byte by byte holds a slot: it gets its answer, an
        // error, and is closed once that is sent.
        Client& c = *clients_.at(fd);
        c.input.clear();
        c.request_started_ns = 0;
        queue(c, status_error_line("request not completed within " +
                                   std::to_string(options_.request_timeout_ns / 1'000'000) +
                                   " ms of its first byte"));
        c.closing = true;
        c.last_activity_ns = now;
        if (flush(c)) update_interest(c);
    }
    for (int fd : idle) {
        spdlog::debug("status socket: closing idle client");
        close_client(fd);
    }
    arm_timer();
}

}  // namespace vmrefclock

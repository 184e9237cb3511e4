#include "ipc/status_server.h"
#include "sources/system_clock.h"

#include <grp.h>
#include <pwd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59  // Linux 4.13; older libc headers may lack the name
#endif

namespace vmrefclock {

namespace {

using nlohmann::json;

constexpr size_t kReadChunk = 4096;
constexpr size_t kMaxReasonBytes = 200;

// Messages may quote the client's text cut at a byte count ("unknown cmd"), which can
// split a UTF-8 character: replaced, not thrown (found by tests/fuzz/status_fuzz.cpp).
std::string error_line(const std::string& message) {
    return json{{"ok", false}, {"error", message}}.dump(-1, ' ', false,
                                                        json::error_handler_t::replace);
}

// The peer's supplementary groups as the kernel saw them at connect(): no race with
// the peer exiting and its pid being reused, unlike /proc/<pid>/status.
std::vector<gid_t> peer_groups(int fd, const ucred& cred) {
    std::vector<gid_t> groups(64);
    socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0 && errno == ERANGE) {
        groups.resize(len / sizeof(gid_t));
        len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
            groups.resize(len / sizeof(gid_t));
            return groups;
        }
    } else if (errno != ENOPROTOOPT) {
        groups.resize(len / sizeof(gid_t));
        return groups;
    }
    // Kernels before 4.13: the peer's process status, then the user database.
    groups.clear();
    std::ifstream status("/proc/" + std::to_string(cred.pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("Groups:", 0) != 0) continue;
        std::istringstream in(line.substr(7));
        for (gid_t g; in >> g;) groups.push_back(g);
        return groups;
    }
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(cred.uid, &pw, buf.data(), buf.size(), &found) == 0 && found) {
        int n = 256;
        groups.resize(static_cast<size_t>(n));
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) >= 0) {
            groups.resize(static_cast<size_t>(n));
            return groups;
        }
    }
    groups.clear();
    return groups;
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
    Status listening = server->listen();
    if (!listening) return listening.error();
    return server;
}

StatusServer::StatusServer(EventLoop& loop, StatusServerOptions options, StatusCallbacks callbacks)
    : loop_(loop),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      idle_timer_(loop, [this] { on_idle_check(); }) {}

StatusServer::~StatusServer() {
    while (!clients_.empty()) close_client(clients_.begin()->first);
    if (listen_fd_ < 0) return;
    loop_.remove(listen_fd_);
    close(listen_fd_);
    struct stat st {};
    if (lstat(options_.socket_path.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
        st.st_ino == socket_ino_) {
        unlink(options_.socket_path.c_str());
    }
}

Status StatusServer::listen() {
    const std::string& path = options_.socket_path;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        return make_error("status socket path \"" + path + "\" is empty or too long");
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return make_error(path + " exists and is not a socket");
        // A socket file nobody listens on is left over from a crash: replace it. One
        // somebody answers on belongs to a running daemon: never steal it.
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        bool live =
            probe >= 0 && (connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ||
                           errno == EAGAIN);
        if (probe >= 0) close(probe);
        if (live) return make_error("another process is listening on " + path);
        if (unlink(path.c_str()) != 0) return errno_error("removing stale " + path, errno);
    }

    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return errno_error("socket", errno);
    // The umask makes bind() create the file 0660 at once: no window where it is wider.
    mode_t old_umask = umask(0117);
    int rc = bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    umask(old_umask);
    if (rc != 0) return errno_error("bind " + path, errno);
    if (lstat(path.c_str(), &st) != 0) return errno_error("stat " + path, errno);
    socket_dev_ = st.st_dev;
    socket_ino_ = st.st_ino;
    if (chmod(path.c_str(), 0660) != 0) return errno_error("chmod " + path, errno);
    if (have_group_ && chown(path.c_str(), static_cast<uid_t>(-1), group_gid_) != 0) {
        return errno_error("chown " + path + " to group " + options_.group, errno);
    }
    if (::listen(listen_fd_, 16) != 0) return errno_error("listen " + path, errno);
    return loop_.add(listen_fd_, EPOLLIN, [this](uint32_t) { on_accept(); });
}

bool StatusServer::peer_may_reset(int fd, const ucred& cred) const {
    if (cred.uid == 0) return true;
    if (!have_group_) return false;
    if (cred.gid == group_gid_) return true;
    std::vector<gid_t> groups = peer_groups(fd, cred);
    return std::find(groups.begin(), groups.end(), group_gid_) != groups.end();
}

void StatusServer::on_accept() {
    // Bounded per wakeup so a connect storm cannot starve the sampling timers.
    for (int i = 0; i < 32; ++i) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
            // Out of fds: the listen socket would stay readable and spin the loop, so
            // stop watching it until the next idle check.
            spdlog::warn("status socket: accept: {}", std::strerror(errno));
            loop_.modify(listen_fd_, 0);
            if (!idle_timer_armed_) {
                arm_idle_timer();
            }
            return;
        }
        if (clients_.size() >= options_.max_clients) {
            // Fits any socket buffer, so a non-blocking send cannot fall short.
            std::string line = error_line("too many clients") + "\n";
            (void)send(fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            close(fd);
            continue;
        }
        auto client = std::make_unique<Client>();
        client->fd = fd;
        ucred cred{};
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
            client->uid = cred.uid;
            client->may_reset = peer_may_reset(fd, cred);
        }
        client->last_activity_ns = read_clock_ns(CLOCK_MONOTONIC);
        Status added = loop_.add(fd, EPOLLIN | EPOLLRDHUP,
                                 [this, fd](uint32_t events) { on_client_event(fd, events); });
        if (!added) {
            spdlog::warn("status socket: {}", added.error().message);
            close(fd);
            continue;
        }
        clients_[fd] = std::move(client);
        if (!idle_timer_armed_) arm_idle_timer();
    }
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
    client.last_activity_ns = read_clock_ns(CLOCK_MONOTONIC);
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
    if (tail > options_.max_request_bytes) {
        client.input.clear();
        queue(client, error_line("request too long (limit " +
                                 std::to_string(options_.max_request_bytes) + " bytes)"));
        client.closing = true;
    }
}

void StatusServer::handle_line(Client& client, const std::string& raw) {
    if (client.closing) return;
    std::string line = raw;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > options_.max_request_bytes) {
        queue(client, error_line("request too long (limit " +
                                 std::to_string(options_.max_request_bytes) + " bytes)"));
        client.closing = true;
        return;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) return;  // blank line
    queue(client, dispatch(client, line));
}

std::string StatusServer::dispatch(const Client& client, const std::string& line) {
    json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) return error_line("malformed JSON");
    if (!request.is_object()) return error_line("request must be a JSON object");
    auto cmd_it = request.find("cmd");
    if (cmd_it == request.end() || !cmd_it->is_string()) {
        return error_line("request needs a \"cmd\" string");
    }
    const std::string cmd = cmd_it->get<std::string>();
    // Callbacks are the daemon's code: an exception from one must not end the loop.
    try {
        json response{{"ok", true}};
        if (cmd == "status" || cmd == "metrics") {
            if (!callbacks_.snapshot) return error_line(cmd + " is not available");
            StatusSnapshot snapshot = callbacks_.snapshot();
            if (cmd == "status") {
                response["status"] = snapshot;
            } else {
                response["metrics"] = render_prometheus(snapshot);
            }
        } else if (cmd == "samples") {
            if (!callbacks_.samples) return error_line("samples is not available");
            size_t n = 20;
            if (auto n_it = request.find("n"); n_it != request.end()) {
                if (!n_it->is_number_integer() || n_it->get<int64_t>() < 0 ||
                    n_it->get<uint64_t>() > options_.max_samples) {
                    return error_line("\"n\" must be an integer from 0 to " +
                                      std::to_string(options_.max_samples));
                }
                n = n_it->get<size_t>();
            }
            response["samples"] = callbacks_.samples(n);
        } else if (cmd == "reset") {
            if (!client.may_reset) return error_line("permission denied");
            if (!callbacks_.reset) return error_line("reset is not available");
            std::string reason =
                "reset requested on the status socket by uid " + std::to_string(client.uid);
            if (auto r_it = request.find("reason"); r_it != request.end()) {
                if (!r_it->is_string()) return error_line("\"reason\" must be a string");
                reason = r_it->get<std::string>().substr(0, kMaxReasonBytes);
            }
            Status done = callbacks_.reset(reason);
            if (!done) return error_line("reset failed: " + done.error().message);
        } else if (cmd == "sources") {
            if (!callbacks_.sources) return error_line("sources is not available");
            response["sources"] = callbacks_.sources();
        } else {
            return error_line("unknown cmd \"" + cmd.substr(0, 64) + "\"");
        }
        // Replace invalid UTF-8 from daemon strings rather than throw mid-response.
        return response.dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const std::exception& e) {
        spdlog::error("status socket: {} failed: {}", cmd, e.what());
        return error_line(std::string("internal error: ") + e.what());
    }
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
        client.last_activity_ns = read_clock_ns(CLOCK_MONOTONIC);
    }
    if (client.closing && client.output.empty()) {
        close_client(client.fd);
        return false;
    }
    // A client that sends but does not read is not read from until it catches up.
    client.reading = client.output.size() <= options_.max_pending_output_bytes;
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

void StatusServer::arm_idle_timer() {
    // Idle clients are closed between 1 and 1.5 timeouts after their last activity.
    int64_t interval = std::clamp<int64_t>(options_.idle_timeout_ns / 2, 1'000'000, 1'000'000'000);
    idle_timer_.arm(interval, interval);
    idle_timer_armed_ = true;
}

void StatusServer::close_client(int fd) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    loop_.remove(fd);
    close(fd);
    clients_.erase(it);
    if (clients_.empty() && idle_timer_armed_) {
        idle_timer_.disarm();
        idle_timer_armed_ = false;
    }
}

void StatusServer::on_idle_check() {
    loop_.modify(listen_fd_, EPOLLIN);  // in case accept ran out of fds
    int64_t now = read_clock_ns(CLOCK_MONOTONIC);
    std::vector<int> idle;
    for (const auto& [fd, client] : clients_) {
        if (now - client->last_activity_ns > options_.idle_timeout_ns) idle.push_back(fd);
    }
    for (int fd : idle) {
        spdlog::debug("status socket: closing idle client");
        close_client(fd);
    }
    if (clients_.empty() && idle_timer_armed_) {
        idle_timer_.disarm();
        idle_timer_armed_ = false;
    }
}

}  // namespace vmrefclock

// The status socket: a unix stream socket served from the daemon's event loop, one JSON
// request per line and one JSON response per line (ipc/status/status_protocol.h).
// Nothing a client sends or fails to read can block the loop or stop the server:
// requests and clients are bounded, idle clients are closed, output is buffered.
// Fair service: a request has 1 s from its first byte to its newline; when every slot
// is taken, a privileged peer (root, the status group) still gets in by closing the
// longest-idle client, and everyone turned away reads "too many clients".
// Dependable: the socket's directory is created when missing, the socket re-created if
// it is deleted, and a lock beside it keeps a second daemon from starting.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "filter/result.h"
#include "ipc/sys/dir_watch.h"
#include "ipc/sys/event_loop.h"
#include "ipc/status/status.h"
#include "ipc/status/status_protocol.h"
#include "ipc/status/status_socket_file.h"

namespace vmrefclock {

struct StatusServerOptions {
    std::string socket_path = "/run/vmrefclock/status.sock";
    std::string group;  // group owning the socket and allowed to reset; "" = root only
    size_t max_clients = 16;
    size_t max_request_bytes = 4096;
    int64_t idle_timeout_ns = 10'000'000'000;
    // From a request's first byte to its newline.
    int64_t request_timeout_ns = 1'000'000'000;
    // Stop reading a client's requests while this much output waits for it.
    size_t max_pending_output_bytes = 1 << 20;
    size_t max_samples = 100'000;  // largest n a `samples` request may ask for
    // How often the socket file is checked besides the directory watch (which misses a
    // directory above it being renamed).
    int64_t recheck_interval_ns = 1'000'000'000;
};

class StatusServer {
  public:
    // Takes the instance lock beside the socket (failing with the holder's PID), creates
    // the socket's directory if missing (0750, the group), binds the socket (replacing a
    // stale socket file, refusing to take over a live one), sets mode 0660 and the
    // group, and starts accepting on `loop`.
    static Result<std::unique_ptr<StatusServer>> create(EventLoop& loop,
                                                        StatusServerOptions options,
                                                        StatusCallbacks callbacks);
    // Closes every client and removes the socket file if it is still ours.
    ~StatusServer();
    StatusServer(const StatusServer&) = delete;
    StatusServer& operator=(const StatusServer&) = delete;

    // Called when another daemon took the lock while ours was gone (its directory was
    // deleted): the daemon should stop, so two never feed one chrony.
    std::function<void(const std::string& why)> on_lock_lost;

  private:
    struct Client {
        int fd = -1;
        StatusPeer peer;  // decided at accept time from SO_PEERCRED/SO_PEERGROUPS
        std::string input;
        std::string output;
        int64_t last_activity_ns = 0;
        int64_t request_started_ns = 0;  // first byte of the unterminated request; 0 = none
        bool closing = false;            // flush output, then close; read nothing more
        bool reading = true;             // EPOLLIN wanted (off while output is over the bound)
    };

    StatusServer(EventLoop& loop, StatusServerOptions options, StatusCallbacks callbacks);
    Status open_socket();
    void close_socket();
    void check_socket();
    void watch_directory();
    void on_accept();
    void admit(int fd);
    void turn_away(int fd, const std::string& why);
    void on_client_event(int fd, uint32_t events);
    // Returns false when the client was closed.
    bool read_from(Client& client);
    bool flush(Client& client);
    void process_input(Client& client);
    void handle_line(Client& client, const std::string& line);
    void queue(Client& client, const std::string& response_line);
    void update_interest(Client& client);
    void close_client(int fd);
    void on_timer();
    void arm_timer();
    bool peer_may_reset(int fd, const ucred& cred) const;

    EventLoop& loop_;
    StatusServerOptions options_;
    StatusCallbacks callbacks_;
    InstanceLock lock_;
    int listen_fd_ = -1;
    bool accepting_ = true;  // false after accept ran out of fds, until the next timer
    int64_t last_accept_warning_ns_ = 0;
    gid_t group_gid_ = static_cast<gid_t>(-1);
    bool have_group_ = false;
    FileIdentity socket_id_;  // our socket file, so we never unlink a successor's
    std::map<int, std::unique_ptr<Client>> clients_;
    std::unique_ptr<DirectoryWatch> dir_watch_;
    Timer timer_;          // client deadlines, accept retry
    Timer recheck_timer_;  // the socket file, by the clock
};

}  // namespace vmrefclock

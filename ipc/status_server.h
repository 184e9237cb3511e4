// The status socket: a unix stream socket served from the daemon's event loop.
// Protocol: one JSON request per line, one JSON response per line.
//   {"cmd":"status"}             -> {"ok":true,"status":{...StatusSnapshot...}}
//   {"cmd":"samples","n":N}      -> {"ok":true,"samples":[{...SampleRecord...}, ...]}
//   {"cmd":"metrics"}            -> {"ok":true,"metrics":"<Prometheus text>"}
//   {"cmd":"reset"[,"reason":S]} -> {"ok":true}  (uid 0 or the configured group only)
//   {"cmd":"sources"}            -> {"ok":true,"sources":"<discovery report>"}
//   anything else                -> {"ok":false,"error":"..."}
// Nothing a client sends or fails to read can block the loop or stop the server:
// requests and clients are bounded, idle clients are closed, output is buffered.
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
#include "ipc/event_loop.h"
#include "ipc/status.h"

namespace vmrefclock {

// What the daemon provides; each runs on the loop thread and must not block.
struct StatusCallbacks {
    std::function<StatusSnapshot()> snapshot;
    std::function<std::vector<SampleRecord>(size_t n)> samples;  // newest n, newest last
    // Discard calibration and reset chrony, as a disruption does.
    std::function<Status(const std::string& reason)> reset;
    std::function<std::string()> sources;  // the source discovery report, as text
};

struct StatusServerOptions {
    std::string socket_path = "/run/vmrefclock/status.sock";
    std::string group;  // group owning the socket and allowed to reset; "" = root only
    size_t max_clients = 16;
    size_t max_request_bytes = 4096;
    int64_t idle_timeout_ns = 10'000'000'000;
    // Stop reading a client's requests while this much output waits for it.
    size_t max_pending_output_bytes = 1 << 20;
    size_t max_samples = 100'000;  // largest n a `samples` request may ask for
};

class StatusServer {
  public:
    // Binds the socket (replacing a stale socket file, refusing to take over a live
    // one), sets mode 0660 and the group, and starts accepting on `loop`.
    static Result<std::unique_ptr<StatusServer>> create(EventLoop& loop,
                                                        StatusServerOptions options,
                                                        StatusCallbacks callbacks);
    // Closes every client and removes the socket file if it is still ours.
    ~StatusServer();
    StatusServer(const StatusServer&) = delete;
    StatusServer& operator=(const StatusServer&) = delete;

  private:
    struct Client {
        int fd = -1;
        uid_t uid = static_cast<uid_t>(-1);
        bool may_reset = false;  // decided at accept time from SO_PEERCRED/SO_PEERGROUPS
        std::string input;
        std::string output;
        int64_t last_activity_ns = 0;
        bool closing = false;  // flush output, then close; read nothing more
        bool reading = true;   // EPOLLIN wanted (off while output is over the bound)
    };

    StatusServer(EventLoop& loop, StatusServerOptions options, StatusCallbacks callbacks);
    Status listen();
    void on_accept();
    void on_client_event(int fd, uint32_t events);
    // Returns false when the client was closed.
    bool read_from(Client& client);
    bool flush(Client& client);
    void process_input(Client& client);
    void handle_line(Client& client, const std::string& line);
    std::string dispatch(const Client& client, const std::string& line);
    void queue(Client& client, const std::string& response_line);
    void update_interest(Client& client);
    void close_client(int fd);
    void on_idle_check();
    void arm_idle_timer();
    bool peer_may_reset(int fd, const ucred& cred) const;

    EventLoop& loop_;
    StatusServerOptions options_;
    StatusCallbacks callbacks_;
    int listen_fd_ = -1;
    gid_t group_gid_ = static_cast<gid_t>(-1);
    bool have_group_ = false;
    dev_t socket_dev_ = 0;  // identity of our socket file, so we never unlink a successor's
    ino_t socket_ino_ = 0;
    std::map<int, std::unique_ptr<Client>> clients_;
    Timer idle_timer_;
    bool idle_timer_armed_ = false;
};

}  // namespace vmrefclock

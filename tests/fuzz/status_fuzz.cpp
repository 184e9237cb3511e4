// Fuzz target: the status socket's request handling. One real StatusServer on a real
// EventLoop, on a socket in a private directory; each input is the byte stream of one
// client connection (written, then half-closed), so accept, framing, the request size
// bound, JSON parsing and dispatch all run as in the daemon, single-threaded here.
// Properties beyond "no crash, no UB":
// - the server answers and closes the connection by itself (never hangs);
// - every answer is one line holding a JSON object with a boolean "ok", an error with
//   an "error" string;
// - no answer is an "internal error" (the callbacks here never throw: an internal error
//   is the server's own);
// - at most one answer per request line;
// - every status and samples answer reads back whole, as vmrefclockctl reads it;
// - the status decoder, given each input line (a status on its own or as the daemon
//   sends it), fails only with a json::exception, and what it accepts renders and reads
//   back to the same JSON.
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ipc/status/status.h"
#include "ipc/status/status_server.h"
#include "ipc/sys/event_loop.h"
#include "tests/fuzz/fuzz_check.h"

using namespace vmrefclock;
using nlohmann::json;

namespace {

struct Harness {
    std::string dir;
    std::string socket;
    EventLoop loop;
    std::unique_ptr<StatusServer> server;
    std::string last_request;  // what the daemon-side strings are made of, below
};

Harness& harness() {
    static Harness* h = [] {
        auto* made = new Harness;
        char tmpl[] = "/tmp/vmr-fuzz-status-XXXXXX";
        FUZZ_CHECK(mkdtemp(tmpl) != nullptr, "mkdtemp");
        made->dir = tmpl;
        made->socket = made->dir + "/status.sock";
        std::atexit([] { std::filesystem::remove_all(harness().dir); });
        spdlog::set_level(spdlog::level::off);
        StatusCallbacks callbacks;
        // Daemon-side strings from the input's bytes, invalid UTF-8 included: the answers
        // must still be JSON.
        callbacks.snapshot = [made] {
            StatusSnapshot s;
            s.state = DaemonState::degraded;
            s.reason = made->last_request.substr(0, 100);
            s.source = {"vmclock", made->last_request.substr(0, 20), "vmclock-page"};
            s.offset_ns = 1.5;
            s.error_bound_ns = std::numeric_limits<double>::infinity();
            s.stddev_ns = std::numeric_limits<double>::quiet_NaN();
            s.disruptions.last_cause = made->last_request.substr(0, 30);
            s.disruptions.last_time_ns = INT64_MIN;
            s.host = HostStatus{};
            s.chrony.last_error = made->last_request.substr(0, 10);
            s.version = "fuzz";
            return s;
        };
        // The daemon keeps a bounded history; answering 100 000 records per request would
        // only slow the fuzzer down.
        callbacks.samples = [](size_t n) {
            std::vector<SampleRecord> out(std::min<size_t>(n, 3));
            for (size_t i = 0; i < out.size(); ++i) {
                out[i] = {INT64_MAX - static_cast<int64_t>(i), -0.0, 0, INT64_MIN, i % 2 == 0};
            }
            return out;
        };
        callbacks.reset = [](const std::string& reason) -> Status {
            if (reason.size() > 200)
                return make_error("reason of " + std::to_string(reason.size()));
            return Ok{};
        };
        callbacks.sources = [made] { return "sources: " + made->last_request.substr(0, 50); };
        StatusServerOptions options;
        options.socket_path = made->socket;
        auto server = StatusServer::create(made->loop, options, callbacks);
        FUZZ_CHECK(server.ok(), server.ok() ? "" : server.error().message);
        made->server = std::move(*server);
        return made;
    }();
    return *h;
}

void check_status_decoder(const std::string& input) {
    for (size_t start = 0; start <= input.size();) {
        size_t end = input.find('\n', start);
        if (end == std::string::npos) end = input.size();
        const json line =
            json::parse(input.begin() + static_cast<std::ptrdiff_t>(start),
                        input.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
        start = end + 1;
        if (line.is_discarded()) continue;
        const json& status = line.is_object() && line.contains("status") ? line.at("status") : line;
        StatusSnapshot decoded;
        try {
            decoded = status.get<StatusSnapshot>();
        } catch (const json::exception&) {
            continue;  // a wrong type or value, named
        }
        FUZZ_CHECK(!render_text(decoded).empty() && !render_prometheus(decoded).empty(),
                   "an empty view");
        const json once = decoded;
        FUZZ_CHECK(json(once.get<StatusSnapshot>()) == once,
                   "a decoded status reads back differently: " + once.dump().substr(0, 300));
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    harness();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Harness& h = harness();
    const std::string input(reinterpret_cast<const char*>(data), size);
    h.last_request = input;

    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    FUZZ_CHECK(fd >= 0, "socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, h.socket.c_str(), sizeof addr.sun_path - 1);
    FUZZ_CHECK(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0,
               std::string("connect: ") + std::strerror(errno));

    size_t written = 0;
    bool write_done = false;
    std::string output;
    bool closed = false;
    auto finish_writing = [&] {
        shutdown(fd, SHUT_WR);
        write_done = true;
        h.loop.modify(fd, EPOLLIN);
    };
    // The client end lives in the same loop as the server: it writes as the server reads.
    Status added = h.loop.add(fd, EPOLLIN | EPOLLOUT, [&](uint32_t events) {
        if ((events & EPOLLOUT) && !write_done) {
            while (written < input.size()) {
                ssize_t n = send(fd, input.data() + written, input.size() - written,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                    if (errno == EAGAIN) break;
                    written = input.size();  // the server closed on us (EPIPE): fine
                    break;
                }
                written += static_cast<size_t>(n);
            }
            if (written == input.size()) finish_writing();
        }
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            char buf[65536];
            for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n > 0) {
                    output.append(buf, static_cast<size_t>(n));
                    continue;
                }
                if (n < 0 && errno == EAGAIN) break;
                closed = true;  // EOF, or a reset: the server is done with us
                h.loop.stop();
                break;
            }
        }
    });
    FUZZ_CHECK(added.ok(), "loop add");
    bool timed_out = false;
    Timer watchdog(h.loop, [&] {
        timed_out = true;
        h.loop.stop();
    });
    watchdog.arm(5'000'000'000, 0);
    Status ran = h.loop.run();
    watchdog.disarm();
    h.loop.remove(fd);
    close(fd);
    FUZZ_CHECK(ran.ok(), "loop failed");
    FUZZ_CHECK(!timed_out && closed, "the server neither answered nor closed within 5 s; " +
                                         std::to_string(output.size()) + " bytes answered");

    FUZZ_CHECK(output.empty() || output.back() == '\n', "an unterminated answer");
    const size_t requests = static_cast<size_t>(std::count(input.begin(), input.end(), '\n')) + 1;
    size_t answers = 0;
    for (size_t start = 0; start < output.size();) {
        const size_t end = output.find('\n', start);
        const std::string line = output.substr(start, end - start);
        start = end + 1;
        ++answers;
        const json answer = json::parse(line, nullptr, false);
        FUZZ_CHECK(answer.is_object() && answer.contains("ok") && answer["ok"].is_boolean(),
                   "not an answer: " + line.substr(0, 300));
        if (!answer["ok"].get<bool>()) {
            FUZZ_CHECK(answer.contains("error") && answer["error"].is_string(),
                       "an error without a message: " + line.substr(0, 300));
            FUZZ_CHECK(answer["error"].get<std::string>().rfind("internal error", 0) != 0,
                       "the server failed on its own: " + line.substr(0, 300));
        } else {
            try {
                if (answer.contains("status")) {
                    FUZZ_CHECK(answer["status"].get<StatusSnapshot>().not_reported.empty(),
                               "the daemon's status lacks fields: " + line.substr(0, 300));
                }
                if (answer.contains("samples")) {
                    (void)answer["samples"].get<std::vector<SampleRecord>>();
                }
            } catch (const json::exception& e) {
                FUZZ_CHECK(false,
                           std::string("the daemon's answer does not read back: ") + e.what());
            }
        }
    }
    FUZZ_CHECK(answers <= requests, std::to_string(answers) + " answers to " +
                                        std::to_string(requests) + " request lines");
    check_status_decoder(input);
    return 0;
}

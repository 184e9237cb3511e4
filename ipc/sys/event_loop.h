// The daemon's single event loop: epoll over file descriptors (timerfds, signalfd,
// sockets, pidfds). Handlers run on the loop thread and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "filter/result.h"

namespace vmrefclock {

class EventLoop {
public:
    using Handler = std::function<void(uint32_t events)>;

    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Watches `fd` for `events` (EPOLLIN, ...). The loop does not own the fd.
    Status add(int fd, uint32_t events, Handler handler);
    Status modify(int fd, uint32_t events);
    // Safe to call from inside any handler, including the fd's own.
    void remove(int fd);

    // Runs until stop() is called; returns an error only if epoll itself fails.
    Status run();
    void stop() { running_ = false; }

private:
    int epoll_fd_ = -1;
    bool running_ = false;
    // shared_ptr so a handler removed while it runs stays alive until it returns.
    std::map<int, std::shared_ptr<Handler>> handlers_;
};

// A periodic or one-shot timer on CLOCK_MONOTONIC, registered with a loop.
class Timer {
public:
    Timer(EventLoop& loop, std::function<void()> on_expire);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    // First expiry after `first_ns`, then every `interval_ns` (0 = one-shot).
    Status arm(int64_t first_ns, int64_t interval_ns);
    void disarm();

private:
    EventLoop& loop_;
    int fd_ = -1;
    std::function<void()> on_expire_;
};

}  // namespace vmrefclock

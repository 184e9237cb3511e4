#include "ipc/sys/event_loop.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace vmrefclock {

namespace {}  // namespace

EventLoop::EventLoop() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {}

EventLoop::~EventLoop() {
    if (epoll_fd_ >= 0) close(epoll_fd_);
}

Status EventLoop::add(int fd, uint32_t events, Handler handler) {
    if (epoll_fd_ < 0) return make_error("epoll_create1 failed");
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
        return errno_error("epoll_ctl ADD", errno);
    handlers_[fd] = std::make_shared<Handler>(std::move(handler));
    return Ok{};
}

Status EventLoop::modify(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0)
        return errno_error("epoll_ctl MOD", errno);
    return Ok{};
}

void EventLoop::remove(int fd) {
    if (handlers_.erase(fd) > 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

Status EventLoop::run() {
    running_ = true;
    std::vector<epoll_event> events(32);
    while (running_) {
        int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("epoll_wait", errno);
        }
        for (int i = 0; i < n && running_; ++i) {
            auto it = handlers_.find(events[i].data.fd);
            // An earlier handler of this round may have removed this fd.
            if (it == handlers_.end()) continue;
            std::shared_ptr<Handler> handler = it->second;
            (*handler)(events[i].events);
        }
    }
    return Ok{};
}

Timer::Timer(EventLoop& loop, std::function<void()> on_expire)
    : loop_(loop),
      fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      on_expire_(std::move(on_expire)) {
    if (fd_ >= 0) {
        loop_.add(fd_, EPOLLIN, [this](uint32_t) {
            uint64_t expirations = 0;
            // Reading clears the expiry; several missed expiries still run the work once.
            if (read(fd_, &expirations, sizeof expirations) == sizeof expirations) on_expire_();
        });
    }
}

Timer::~Timer() {
    if (fd_ >= 0) {
        loop_.remove(fd_);
        close(fd_);
    }
}

Status Timer::arm(int64_t first_ns, int64_t interval_ns) {
    if (fd_ < 0) return make_error("timerfd_create failed");
    itimerspec spec{};
    // A zero it_value would disarm the timer; fire as soon as possible instead.
    if (first_ns <= 0) first_ns = 1;
    spec.it_value.tv_sec = first_ns / 1'000'000'000;
    spec.it_value.tv_nsec = first_ns % 1'000'000'000;
    spec.it_interval.tv_sec = interval_ns / 1'000'000'000;
    spec.it_interval.tv_nsec = interval_ns % 1'000'000'000;
    if (timerfd_settime(fd_, 0, &spec, nullptr) != 0) return errno_error("timerfd_settime", errno);
    return Ok{};
}

void Timer::disarm() {
    itimerspec spec{};
    if (fd_ >= 0) timerfd_settime(fd_, 0, &spec, nullptr);
}

}  // namespace vmrefclock

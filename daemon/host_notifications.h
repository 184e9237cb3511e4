// vmclock notifications: when the host's page sets NOTIFICATION_PRESENT, the device fd
// becomes readable on every page update, so a disruption is acted on within the event
// loop's latency instead of at the next poll. Timer polls still take the readings.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "ipc/sys/event_loop.h"
#include "sources/source.h"

namespace vmrefclock {

class HostNotifications {
  public:
    using OnUpdate = std::function<void(const HostInfo& host)>;

    HostNotifications(EventLoop& loop, std::unique_ptr<HostSignal> signal, OnUpdate on_update);
    ~HostNotifications();
    HostNotifications(const HostNotifications&) = delete;
    HostNotifications& operator=(const HostNotifications&) = delete;

    // Watches the signal's fd when it offers one; false (and nothing watched) otherwise.
    bool start();
    bool active() const { return fd_ >= 0; }
    uint64_t notifications() const { return notifications_; }

  private:
    void on_ready(uint32_t events);
    void stop();

    EventLoop& loop_;
    std::unique_ptr<HostSignal> signal_;
    OnUpdate on_update_;
    int fd_ = -1;
    uint64_t notifications_ = 0;
};

}  // namespace vmrefclock

#include "daemon/host_notifications.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>

namespace vmrefclock {

HostNotifications::HostNotifications(EventLoop& loop, std::unique_ptr<HostSignal> signal,
                                     OnUpdate on_update)
    : loop_(loop), signal_(std::move(signal)), on_update_(std::move(on_update)) {}

HostNotifications::~HostNotifications() {
    stop();
}

bool HostNotifications::start() {
    if (!signal_) return false;
    const int fd = signal_->notification_fd();
    if (fd < 0) return false;
    if (Status added = loop_.add(fd, EPOLLIN, [this](uint32_t events) { on_ready(events); });
        !added) {
        spdlog::warn("cannot watch {} for notifications: {}", signal_->describe(),
                     added.error().message);
        return false;
    }
    fd_ = fd;
    spdlog::info("{} notifies updates: disruptions are acted on as they are published",
                 signal_->describe());
    return true;
}

void HostNotifications::stop() {
    if (fd_ < 0) return;
    loop_.remove(fd_);
    fd_ = -1;
}

void HostNotifications::on_ready(uint32_t events) {
    if (!(events & EPOLLIN)) {
        // POLLHUP: the page no longer offers notifications. Level-triggered, it would
        // wake the loop forever: stop watching; the polls still see every marker.
        spdlog::warn("{} stopped notifying (events {:#x}); disruptions are seen at polls",
                     signal_->describe(), events);
        stop();
        return;
    }
    ++notifications_;
    signal_->acknowledge_notification();
    Result<HostInfo> host = signal_->read_host();
    if (!host) {
        spdlog::warn("cannot read {} after a notification: {}", signal_->describe(),
                     host.error().message);
        return;
    }
    on_update_(*host);
}

}  // namespace vmrefclock

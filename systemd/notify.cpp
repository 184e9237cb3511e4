#include "systemd/notify.h"
#include "sources/system_clock.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

namespace vmrefclock {

Notifier::Notifier() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    enabled_ = socket != nullptr && socket[0] != '\0';
    uint64_t usec = 0;
    // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is this process.
    if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0 && usec > 0) {
        watchdog_interval_ns_ = static_cast<int64_t>(usec) * 1000;
    }
}

void Notifier::send(const std::string& message) {
    if (!enabled_) return;
    int rc = sd_notify(/*unset_environment=*/0, message.c_str());
    // Once per failure streak, not once a poll: the next success ends the streak.
    if (rc < 0 && !failing_) {
        spdlog::warn("sd_notify({}): {} (further failures are not logged until one succeeds)",
                     message.substr(0, message.find('\n')), std::strerror(-rc));
    }
    failing_ = rc < 0;
}

void Notifier::ready() {
    send("READY=1");
}

void Notifier::status(std::string_view text) {
    std::string line(text);
    // The protocol is newline-separated assignments: a newline would end the value.
    for (char& c : line) {
        if (c == '\n') c = ' ';
    }
    if (line == last_status_) return;
    last_status_ = line;
    send("STATUS=" + line);
}

void Notifier::watchdog() {
    if (!enabled_) return;
    int64_t now = read_clock_ns(CLOCK_MONOTONIC);
    // Pings closer than 1/8 of WatchdogSec are dropped: fast polls do not flood the
    // manager, yet a poll period near the limit still pings every time (at 1/4 a 0.5 s
    // poll against WatchdogSec=2 lost every other ping to timer jitter).
    if (watchdog_interval_ns_ && last_watchdog_ns_ &&
        now - *last_watchdog_ns_ < *watchdog_interval_ns_ / 8) {
        return;
    }
    last_watchdog_ns_ = now;
    send("WATCHDOG=1");
}

void Notifier::stopping() {
    send("STOPPING=1");
}

void Notifier::reloading() {
    // systemd compares MONOTONIC_USEC with its own clock to order reload messages.
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(read_clock_ns(CLOCK_MONOTONIC) / 1000));
}

}  // namespace vmrefclock

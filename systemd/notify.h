// The daemon's side of systemd's notify protocol (Type=notify, WatchdogSec=).
// Every call is a no-op when NOTIFY_SOCKET is unset, so the daemon calls them
// unconditionally whether it runs under systemd, in a test or in a terminal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmrefclock {

class Notifier {
  public:
    // Reads NOTIFY_SOCKET and the watchdog settings once, at construction.
    Notifier();

    bool enabled() const { return enabled_; }
    // READY=1: after the first sample was sent, and again after a reload finished.
    void ready();
    // STATUS=<text>: one line, e.g. "ok, offset +1.2 µs". Repeats are not resent.
    void status(std::string_view text);
    // WATCHDOG=1: call once per completed poll, so a stuck loop stops the pings.
    // Rate-limited to one ping per 1/8 of the watchdog interval (see notify.cpp).
    void watchdog();
    // STOPPING=1: at the start of shutdown.
    void stopping();
    // RELOADING=1 with MONOTONIC_USEC= (systemd 253+ Type=notify-reload wants it;
    // older systemd ignores the extra field). Follow with ready() when done.
    void reloading();

    // The interval WatchdogSec= asks for, if the watchdog is on for this process.
    std::optional<int64_t> watchdog_interval_ns() const { return watchdog_interval_ns_; }

  private:
    void send(const std::string& message);

    bool enabled_ = false;
    std::optional<int64_t> watchdog_interval_ns_;
    std::optional<int64_t> last_watchdog_ns_;
    std::string last_status_;
    bool failing_ = false;
};

}  // namespace vmrefclock

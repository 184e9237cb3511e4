// The one interface every source of host time implements (chrony's refclock
// driver model: one small interface, one file per source kind).
#pragma once

#include <string>

#include "filter/result.h"
#include "filter/types.h"

namespace vmrefclock {

class Source {
  public:
    virtual ~Source() = default;
    // Take one poll's batch of `readings` interleaved readings. Never blocks for
    // longer than a bounded read (the vmclock seqcount bound, one ioctl).
    virtual Result<Batch> poll(int readings) = 0;
    // Short description for logs and status: kind, path and method.
    virtual std::string describe() const = 0;
    // How it is read, for the status: "vmclock-page", "precise", "extended", "basic".
    virtual std::string method_name() const { return ""; }
};

// A source of host metadata only: a vmclock page read beside a PHC for its disruption
// marker, VM generation, status and leap announcement.
class HostSignal {
  public:
    virtual ~HostSignal() = default;
    virtual Result<HostInfo> read_host() = 0;
    virtual std::string describe() const = 0;
    // An fd that becomes readable when the host updates its metadata (a vmclock device
    // whose page sets NOTIFICATION_PRESENT), or -1 when there is none.
    virtual int notification_fd() { return -1; }
    // Consumes one notification, so the fd is not readable again until the next update.
    virtual void acknowledge_notification() {}
};

}  // namespace vmrefclock

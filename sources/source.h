// The one interface every source of host time implements (chrony's refclock
// driver model: one small interface, one file per source kind).
#pragma once

#include <string>
#include <utility>

#include "filter/result.h"
#include "filter/types.h"

namespace vmrefclock {

class Source {
  public:
    virtual ~Source() = default;
    // Take one poll's batch of `readings` interleaved readings. Never blocks for
    // longer than a bounded read (the vmclock seqcount bound, one ioctl).
    virtual Result<Batch> poll(int readings) = 0;
    // The same into `batch`, which is overwritten and whose buffers are reused: a caller
    // that keeps one Batch across polls makes steady polls without a heap allocation
    // (the vmclock and PTP sources do; this default moves a new batch in).
    virtual Status poll_into(int readings, Batch& batch) {
        Result<Batch> fresh = poll(readings);
        if (!fresh) return fresh.error();
        batch = std::move(*fresh);
        return Ok{};
    }
    // Cheap, between polls: whether the host's disruption signals (marker, generation,
    // status, flags) may differ from this source's last full read. No clock read, no
    // allocation. True when the source cannot tell: the caller then reads in full.
    virtual bool host_signals_changed() { return true; }
    // Short description for logs and status: kind, path and method.
    virtual std::string describe() const = 0;
    // How it is read, for the status: "vmclock-page", "precise", "extended", "basic".
    virtual std::string method_name() const { return ""; }

  protected:
    // poll() for a source that implements poll_into().
    Result<Batch> poll_new_batch(int readings) {
        Batch batch;
        if (Status s = poll_into(readings, batch); !s) return s.error();
        return batch;
    }
};

// A source of host metadata only: a vmclock page read beside a PHC for its disruption
// marker, VM generation, status and leap announcement.
class HostSignal {
  public:
    virtual ~HostSignal() = default;
    virtual Result<HostInfo> read_host() = 0;
    // As Source::host_signals_changed, against the last read_host().
    virtual bool host_signals_changed() { return true; }
    virtual std::string describe() const = 0;
    // An fd that becomes readable when the host updates its metadata (a vmclock device
    // whose page sets NOTIFICATION_PRESENT), or -1 when there is none.
    virtual int notification_fd() { return -1; }
    // Consumes one notification, so the fd is not readable again until the next update.
    virtual void acknowledge_notification() {}
};

}  // namespace vmrefclock

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
};

}  // namespace vmrefclock

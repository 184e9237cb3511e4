// The daemon's state as the engine decides it, and why: a typed cause, formatted into
// words only by the daemon.
#pragma once

#include <cstdint>

namespace vmrefclock {

enum class DaemonState { starting, ok, holdoff, degraded, unusable, no_source };

// One value per way into a state.
enum class StateCause : uint8_t {
    starting,           // starting: no sample sent yet
    no_source,          // no_source: discovery found no time source
    source_unreadable,  // no_source: the source's read failed
    host_unreliable,    // unusable: the page's clock_status says so
    page_unusable,      // unusable: the batch carries no usable UTC (Batch::unusable_reason)
    implausible,        // unusable: a plausibility gate refused the batch
    probation,          // holdoff: an unannounced step is not followed yet
    filter_rejected,    // degraded: the filter produced no sample
    delivery_failed,    // degraded: the clock sink (chrony) did not take the sample
    disruption,         // holdoff: calibration discarded, chrony being reset
    recovering,         // holdoff: feeding the new clock; chrony is selecting it again
    feeding,            // ok
};

}  // namespace vmrefclock

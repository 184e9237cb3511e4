// SuspendDetector: the guest was suspended (S3, s2idle, hibernation), seen as a jump of
// CLOCK_BOOTTIME - CLOCK_MONOTONIC: the kernel adds the time slept to BOOTTIME only.
//
// Pure: the daemon reads the clocks, in the order MONOTONIC, BOOTTIME, MONOTONIC, and
// passes the three values. The true difference at the BOOTTIME read then lies within
// [boottime - monotonic_after, boottime - monotonic_before], so a preemption between the
// reads widens the interval instead of faking a jump.
//
// Threshold 1 ms: the difference is otherwise constant to the nanosecond (it only moves
// by time slept), the read skew is bracketed exactly, and any real suspend lasts far
// longer (resume alone takes hundreds of ms). A hypervisor pause (virsh suspend, a
// stop-and-copy) is not a guest suspend and does not move this difference; it shows up,
// if the clock was disturbed, in the step detector.
#pragma once

#include <cstdint>
#include <optional>

#include "filter/disruption_monitor.h"

namespace vmrefclock {

struct SuspendDetectorOptions {
    int64_t threshold_ns = 1'000'000;
};

class SuspendDetector {
  public:
    explicit SuspendDetector(SuspendDetectorOptions options = {}) : options_(options) {}

    // The first observation (and the first after reset()) only sets the baseline.
    std::optional<Disruption> observe(int64_t monotonic_before_ns, int64_t boottime_ns,
                                      int64_t monotonic_after_ns);
    void reset() { seen_ = false; }
    const SuspendDetectorOptions& options() const { return options_; }

  private:
    SuspendDetectorOptions options_;
    bool seen_ = false;
    int64_t high_ns_ = 0;  // upper bound of BOOTTIME - MONOTONIC at the last observation
};

}  // namespace vmrefclock

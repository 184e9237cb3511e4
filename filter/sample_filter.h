// What the daemon runs each poll: a batch in, the sample to send to chrony out, plus the
// model behind it. The engine holds its filter through this interface (linuxptp's servo
// model), so the clock lab can score its baselines and the v1 method (tests/sim/lab/)
// exactly as the engine drives the daemon's RobustFilter.
#pragma once

#include <memory>
#include <optional>

#include "filter/result.h"
#include "filter/types.h"

namespace vmrefclock {

class SampleFilter {
  public:
    virtual ~SampleFilter() = default;
    // The sample to send for this poll, or an error saying why there is none.
    virtual Result<Sample> process(const Batch& batch) = 0;
    virtual std::optional<Estimate> estimate() const = 0;
    // A disruption: forget every sample and everything learned from them.
    virtual void reset() = 0;
    virtual int samples_in_window() const = 0;
    // The size of a step of the reference that the last process() confirmed and
    // restarted its model on, if it did. A filter that confirms steps itself rejects
    // the first off sample, so the caller's own step detection never sees the step:
    // this is how the caller learns of it (nullopt from filters that do not).
    virtual std::optional<double> confirmed_step_ns() const { return std::nullopt; }
};

// The filter the daemon runs (a RobustFilter): one place names it, so the tests that
// mean "the daemon's filter" get the same one.
std::unique_ptr<SampleFilter> make_default_filter();

}  // namespace vmrefclock

// Estimator: a model of reference - system over a window of Samples.
//
// Several interchangeable estimators sit behind this one interface (as linuxptp's
// servos do), so the daemon and the clock lab can swap them without knowing which.
#pragma once

#include <cstdint>
#include <optional>

#include "filter/types.h"

namespace vmrefclock {

class Estimator {
  public:
    virtual ~Estimator() = default;

    virtual void add(const Sample& sample) = 0;
    // The model at the newest sample's time; nullopt when the window is empty.
    virtual std::optional<Estimate> estimate() const = 0;
    // The model extrapolated (or interpolated) to time_ns; nullopt when empty.
    virtual std::optional<Estimate> predict(int64_t time_ns) const = 0;
    // A disruption: forget everything; nothing learnt before it is valid after it.
    virtual void reset() = 0;
    virtual int size() const = 0;
};

}  // namespace vmrefclock

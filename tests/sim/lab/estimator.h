// Estimator: a model of reference - system over a window of Samples.
//
// The interface of the daemon's first (v1) method, kept in the lab as a reference the
// robust filter is compared with; the daemon itself runs RobustFilter only.
#pragma once

#include <cstdint>
#include <optional>

#include "filter/types.h"

namespace vmrefclock::lab {

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

}  // namespace vmrefclock::lab

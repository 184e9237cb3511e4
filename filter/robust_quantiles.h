// SlidingQuantiles: exact quantiles of the last `capacity` values, kept sorted so a
// quantile costs O(1) and an update O(capacity) in a memmove (cheap for ~1000 values),
// instead of a sort or selection per query. Both buffers are sized once: adding a value
// never allocates.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "filter/ring_buffer.h"

namespace vmrefclock {

class SlidingQuantiles {
  public:
    explicit SlidingQuantiles(size_t capacity)
        : capacity_(std::max<size_t>(capacity, 1)), fifo_(capacity_) {
        sorted_.reserve(capacity_);
    }

    void add(int64_t v) {
        if (fifo_.size() == capacity_) {
            sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), fifo_.front()));
            fifo_.pop_front();
        }
        fifo_.push_back(v);
        sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), v), v);
    }
    void clear() {
        fifo_.clear();
        sorted_.clear();
    }
    size_t size() const { return sorted_.size(); }
    // The value at rank round(q * (size - 1)), q clamped to [0, 1]; 0 when empty.
    double quantile(double q) const {
        if (sorted_.empty()) return 0.0;
        q = std::clamp(q, 0.0, 1.0);
        const auto i = static_cast<size_t>(q * static_cast<double>(sorted_.size() - 1) + 0.5);
        return static_cast<double>(sorted_[std::min(i, sorted_.size() - 1)]);
    }

  private:
    size_t capacity_;
    RingBuffer<int64_t> fifo_;  // oldest first
    std::vector<int64_t> sorted_;
};

}  // namespace vmrefclock

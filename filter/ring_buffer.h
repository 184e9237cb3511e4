// RingBuffer: a FIFO of at most `capacity` values in one block allocated up front, for the
// filter's per-poll histories (its sample window, the delay history). A std::deque there
// allocates and frees a chunk every few polls; this never allocates after construction,
// so a steady poll makes no heap allocation (issue 11, item 6).
#pragma once

#include <cstddef>
#include <iterator>
#include <vector>

namespace vmrefclock {

template <typename T>
class RingBuffer {
  public:
    explicit RingBuffer(size_t capacity) : slots_(capacity > 0 ? capacity : 1) {}

    size_t size() const { return size_; }
    size_t capacity() const { return slots_.size(); }
    bool empty() const { return size_ == 0; }
    bool full() const { return size_ == slots_.size(); }
    void clear() { head_ = size_ = 0; }

    // When full, the oldest value is dropped to make room.
    void push_back(const T& v) {
        if (full()) pop_front();
        slots_[slot(size_)] = v;
        ++size_;
    }
    void pop_front() {
        if (empty()) return;
        head_ = slot(1);
        --size_;
    }

    // i = 0 is the oldest.
    const T& operator[](size_t i) const { return slots_[slot(i)]; }
    T& operator[](size_t i) { return slots_[slot(i)]; }
    const T& front() const { return (*this)[0]; }
    const T& back() const { return (*this)[size_ - 1]; }

    class const_iterator {
      public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = const T*;
        using reference = const T&;
        const_iterator(const RingBuffer* ring, size_t i) : ring_(ring), i_(i) {}
        reference operator*() const { return (*ring_)[i_]; }
        pointer operator->() const { return &(*ring_)[i_]; }
        const_iterator& operator++() {
            ++i_;
            return *this;
        }
        bool operator==(const const_iterator& o) const { return i_ == o.i_; }

      private:
        const RingBuffer* ring_;
        size_t i_;
    };
    const_iterator begin() const { return {this, 0}; }
    const_iterator end() const { return {this, size_}; }

  private:
    size_t slot(size_t i) const {
        const size_t s = head_ + i;
        return s < slots_.size() ? s : s - slots_.size();
    }

    std::vector<T> slots_;
    size_t head_ = 0;  // slot of the oldest value
    size_t size_ = 0;
};

}  // namespace vmrefclock

// RingBuffer: the filter's fixed-capacity FIFO (filter/ring_buffer.h).
#include "filter/ring_buffer.h"

#include <gtest/gtest.h>

#include <vector>

namespace vmrefclock {
namespace {

std::vector<int> contents(const RingBuffer<int>& ring) {
    return std::vector<int>(ring.begin(), ring.end());
}

TEST(RingBuffer, KeepsTheNewestCapacityValuesOldestFirst) {
    RingBuffer<int> ring(3);
    EXPECT_TRUE(ring.empty());
    for (int v = 1; v <= 5; ++v) ring.push_back(v);
    EXPECT_TRUE(ring.full());
    EXPECT_EQ(ring.size(), 3u);
    EXPECT_EQ(contents(ring), (std::vector<int>{3, 4, 5}));
    EXPECT_EQ(ring.front(), 3);
    EXPECT_EQ(ring.back(), 5);
    EXPECT_EQ(ring[1], 4);
}

TEST(RingBuffer, PopFrontAndClear) {
    RingBuffer<int> ring(4);
    for (int v = 1; v <= 6; ++v) ring.push_back(v);  // wraps: 3 4 5 6
    ring.pop_front();
    EXPECT_EQ(contents(ring), (std::vector<int>{4, 5, 6}));
    ring.push_back(7);
    ring.push_back(8);  // full again: 4 leaves
    EXPECT_EQ(contents(ring), (std::vector<int>{5, 6, 7, 8}));
    ring.clear();
    EXPECT_TRUE(ring.empty());
    ring.pop_front();  // on empty: nothing
    ring.push_back(9);
    EXPECT_EQ(contents(ring), (std::vector<int>{9}));
    EXPECT_EQ(ring.capacity(), 4u);
}

TEST(RingBuffer, ZeroCapacityHoldsOne) {
    RingBuffer<int> ring(0);
    ring.push_back(1);
    ring.push_back(2);
    EXPECT_EQ(contents(ring), (std::vector<int>{2}));
}

}  // namespace
}  // namespace vmrefclock

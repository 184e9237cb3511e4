// Rate-limits repeated warnings (a missing chronyd, a stuck page) so a problem that
// lasts hours logs a line a minute, not a line a poll.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace vmrefclock {

class LogLimiter {
  public:
    explicit LogLimiter(int64_t period_ns = 60'000'000'000) : period_ns_(period_ns) {}

    // True when a message with this key may be logged now; `suppressed` then holds how
    // many were held back since the last one.
    bool allow(const std::string& key, int64_t now_mono_ns, uint64_t& suppressed);
    // Forget a key, so the next occurrence of the problem is logged at once.
    void clear(const std::string& key) { entries_.erase(key); }

  private:
    struct Entry {
        int64_t last_ns = 0;
        uint64_t suppressed = 0;
    };
    int64_t period_ns_;
    std::map<std::string, Entry> entries_;
};

}  // namespace vmrefclock

#include "daemon/log_limiter.h"

namespace vmrefclock {

bool LogLimiter::allow(const std::string& key, int64_t now_mono_ns, uint64_t& suppressed) {
    auto [it, inserted] = entries_.try_emplace(key);
    Entry& e = it->second;
    if (!inserted && now_mono_ns - e.last_ns < period_ns_) {
        ++e.suppressed;
        return false;
    }
    suppressed = e.suppressed;
    e.suppressed = 0;
    e.last_ns = now_mono_ns;
    return true;
}

}  // namespace vmrefclock

#include "tests/sim/lab/sample_selector.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace vmrefclock::lab {

SampleSelector::SampleSelector(SampleSelectorOptions options) : options_(options) {
    // Options come from a validated config, but the core must not misbehave on nonsense:
    // a non-positive or NaN fraction would keep nothing, above 1 would read past the end.
    if (!(options_.keep_fraction > 0.0)) options_.keep_fraction = 1e-9;
    if (options_.keep_fraction > 1.0) options_.keep_fraction = 1.0;
    if (options_.max_delay_ns < 0) options_.max_delay_ns = 0;
}

Result<Sample> SampleSelector::select(const Batch& batch) const {
    // The source's own reason beats "empty": an unusable source sends no readings.
    if (!batch.unusable_reason.empty()) {
        return make_error("source unusable: " + batch.unusable_reason);
    }
    if (batch.readings.empty()) return make_error("empty batch: no readings");

    std::vector<Reading> valid;
    valid.reserve(batch.readings.size());
    int negative = 0;
    int too_slow = 0;
    for (const Reading& r : batch.readings) {
        // post < pre: the system clock stepped back during the read; the reading mixes
        // two timescales and its offset is meaningless.
        if (r.sys_post_ns < r.sys_pre_ns) {
            ++negative;
        } else if (r.delay_ns() > options_.max_delay_ns) {
            ++too_slow;
        } else {
            valid.push_back(r);
        }
    }
    if (valid.empty()) {
        return make_error("all " + std::to_string(batch.readings.size()) +
                          " readings rejected: " + std::to_string(negative) +
                          " with negative delay (clock stepped during the read), " +
                          std::to_string(too_slow) + " with delay above " +
                          std::to_string(options_.max_delay_ns) + " ns");
    }

    // Stable, so that among equal delays the earlier readings win: deterministic output.
    std::stable_sort(valid.begin(), valid.end(), [](const Reading& a, const Reading& b) {
        return a.delay_ns() < b.delay_ns();
    });
    // floor, with a small epsilon so that 0.3 * 10 (= 3.0000000000000004) stays 3.
    auto keep = static_cast<size_t>(
        std::floor(options_.keep_fraction * static_cast<double>(valid.size()) + 1e-9));
    keep = std::clamp<size_t>(keep, 1, valid.size());

    // Time points are ~1.8e18 ns: a double holds them only to 256 ns. Sum differences
    // to the first kept reading (exact in int64, small enough for a double), then add
    // the mean difference back.
    const int64_t mid0 = valid[0].sys_mid_ns();
    const int64_t off0 = valid[0].offset_ns();
    double sum_dmid = 0.0;
    double sum_doff = 0.0;
    int64_t max_delay = 0;
    for (size_t i = 0; i < keep; ++i) {
        sum_dmid += static_cast<double>(valid[i].sys_mid_ns() - mid0);
        sum_doff += static_cast<double>(valid[i].offset_ns() - off0);
        max_delay = std::max(max_delay, valid[i].delay_ns());
    }
    const double n = static_cast<double>(keep);

    Sample s;
    s.time_ns = mid0 + std::llround(sum_dmid / n);
    s.offset_ns = static_cast<double>(off0) + sum_doff / n;
    s.delay_ns = max_delay;
    // Each kept reading's reference read lies within its [pre, post]: its offset is off
    // by at most half its delay, and so is their mean. Never below the resolution.
    s.error_ns = std::max(max_delay / 2, batch.precision_ns);
    s.readings_used = static_cast<int>(keep);
    s.leap = Leap::none;
    return s;
}

}  // namespace vmrefclock::lab

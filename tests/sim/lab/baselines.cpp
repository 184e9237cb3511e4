#include "tests/sim/lab/baselines.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace vmrefclock::lab {

namespace {

Estimate estimate_of(const Sample& s) {
    Estimate e;
    e.time_ns = s.time_ns;
    e.offset_ns = s.offset_ns;
    e.error_bound_ns = static_cast<double>(s.error_ns);
    e.samples = 1;
    return e;
}

}  // namespace

Result<Sample> Phc2sysFilter::process(const Batch& batch) {
    if (!batch.unusable_reason.empty()) return make_error("unusable: " + batch.unusable_reason);
    const Reading* best = nullptr;
    for (const Reading& r : batch.readings) {
        if (r.sys_post_ns < r.sys_pre_ns) continue;
        if (best == nullptr || r.delay_ns() < best->delay_ns()) best = &r;
    }
    if (best == nullptr) return make_error("no valid reading");
    Sample s;
    s.time_ns = best->sys_mid_ns();
    s.offset_ns = static_cast<double>(best->offset_ns());
    s.delay_ns = best->delay_ns();
    s.error_ns = std::max(best->delay_ns() / 2, batch.precision_ns);
    s.readings_used = 1;
    last_ = estimate_of(s);
    return s;
}

ChronyStyleFilter::ChronyStyleFilter(int samples_per_poll)
    : samples_per_poll_(std::max(samples_per_poll, 1)) {}

void ChronyStyleFilter::reset() {
    pending_.clear();
    batches_ = 0;
    last_.reset();
}

// chrony's process_phc_readings: the delay quantiles are updated with this batch first.
std::optional<Sample> ChronyStyleFilter::phc_sample(const Batch& batch) {
    std::vector<const Reading*> valid;
    for (const Reading& r : batch.readings) {
        // chrony drops the whole batch on a negative delay (a step mid-read).
        if (r.sys_post_ns < r.sys_pre_ns) return std::nullopt;
        valid.push_back(&r);
    }
    if (valid.empty()) return std::nullopt;
    for (const Reading* r : valid) delays_.add(r->delay_ns());
    const double lo = delays_.quantile(0.1) - 0.5;
    const double hi = delays_.quantile(0.2) + 0.5;

    std::vector<const Reading*> combine;
    for (const Reading* r : valid) {
        const auto d = static_cast<double>(r->delay_ns());
        if (d >= lo && d <= hi) combine.push_back(r);
    }
    if (combine.empty()) {
        combine.push_back(*std::min_element(
            valid.begin(), valid.end(),
            [](const Reading* a, const Reading* b) { return a->delay_ns() < b->delay_ns(); }));
    }
    // Sums relative to the first reading: doubles cannot hold 1.8e18 ns exactly.
    const int64_t t0 = combine[0]->sys_mid_ns();
    const int64_t o0 = combine[0]->offset_ns();
    double dt = 0;
    double doff = 0;
    int64_t max_delay = 0;
    for (const Reading* r : combine) {
        dt += static_cast<double>(r->sys_mid_ns() - t0);
        doff += static_cast<double>(r->offset_ns() - o0);
        max_delay = std::max(max_delay, r->delay_ns());
    }
    const auto n = static_cast<double>(combine.size());
    Sample s;
    s.time_ns = t0 + std::llround(dt / n);
    s.offset_ns = static_cast<double>(o0) + doff / n;
    s.delay_ns = max_delay;
    s.error_ns = std::max(max_delay / 2, batch.precision_ns);
    s.readings_used = static_cast<int>(combine.size());
    return s;
}

// chrony's refclock median filter (samplefilt.c) over one poll's samples.
Sample ChronyStyleFilter::median_filter() {
    int64_t min_disp = pending_[0].error_ns;
    for (const Sample& s : pending_) min_disp = std::min(min_disp, s.error_ns);
    std::vector<Sample> sel;
    for (const Sample& s : pending_) {
        if (static_cast<double>(s.error_ns) <= 1.5 * static_cast<double>(min_disp)) {
            sel.push_back(s);
        }
    }
    std::sort(sel.begin(), sel.end(),
              [](const Sample& a, const Sample& b) { return a.offset_ns < b.offset_ns; });
    // Middle 60 %: drop 20 % at each end, keeping at least the median.
    const auto n = sel.size();
    size_t drop = static_cast<size_t>(static_cast<double>(n) * 0.2);
    if (2 * drop >= n) drop = (n - 1) / 2;
    const int64_t t0 = sel[drop].time_ns;
    double dt = 0;
    double off = 0;
    double disp = 0;
    int used = 0;
    int64_t delay = 0;
    for (size_t i = drop; i < n - drop; ++i) {
        dt += static_cast<double>(sel[i].time_ns - t0);
        off += sel[i].offset_ns;
        disp += static_cast<double>(sel[i].error_ns);
        used += sel[i].readings_used;
        delay = std::max(delay, sel[i].delay_ns);
    }
    const auto k = static_cast<double>(n - 2 * drop);
    Sample out;
    out.time_ns = t0 + std::llround(dt / k);
    out.offset_ns = off / k;
    out.error_ns = std::llround(disp / k);
    out.delay_ns = delay;
    out.readings_used = used;
    return out;
}

Result<Sample> ChronyStyleFilter::process(const Batch& batch) {
    if (!batch.unusable_reason.empty()) return make_error("unusable: " + batch.unusable_reason);
    if (auto s = phc_sample(batch)) pending_.push_back(*s);
    if (++batches_ < samples_per_poll_) return make_error("accumulating for the chrony poll");
    batches_ = 0;
    if (pending_.empty()) return make_error("no samples in this chrony poll");
    Sample out = median_filter();
    pending_.clear();
    last_ = estimate_of(out);
    return out;
}

}  // namespace vmrefclock::lab

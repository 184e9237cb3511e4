#include "filter/step_guard.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace vmrefclock {

std::optional<BatchOffset> batch_offset(const Batch& batch, std::vector<BatchOffset>& all) {
    all.clear();
    all.reserve(batch.readings.size());
    for (const Reading& r : batch.readings) {
        if (r.sys_post_ns < r.sys_pre_ns) continue;
        const __int128 offset = static_cast<__int128>(r.ref_ns) - r.sys_mid_ns();
        all.push_back({r.sys_mid_ns(), static_cast<double>(offset)});
    }
    if (all.empty()) return std::nullopt;
    auto mid = all.begin() + static_cast<std::ptrdiff_t>((all.size() - 1) / 2);
    std::nth_element(all.begin(), mid, all.end(), [](const BatchOffset& a, const BatchOffset& b) {
        return a.offset_ns < b.offset_ns;
    });
    return *mid;
}

double StepGuard::predict(const Estimate& model, int64_t time_ns) const {
    const double dt_s = static_cast<double>(time_ns - model.time_ns) * 1e-9;
    return model.offset_ns + model.frequency_ppm * 1e3 * dt_s;  // ppm * 1e3 = ns/s
}

double StepGuard::tolerance(int64_t since_ns, int64_t time_ns) const {
    const double dt_s = std::abs(static_cast<double>(time_ns - since_ns)) * 1e-9;
    return options_.tolerance_ns + options_.tolerance_ppm * 1e3 * dt_s;
}

void StepGuard::start(const std::optional<Estimate>& reference, const BatchOffset& stepped,
                      int64_t now_mono_ns) {
    reference_ = reference;
    Estimate candidate;
    candidate.time_ns = stepped.time_ns;
    candidate.offset_ns = stepped.offset_ns;
    candidate.frequency_ppm = reference ? reference->frequency_ppm : 0.0;
    candidate_ = candidate;
    step_ns_ = reference ? stepped.offset_ns - predict(*reference, stepped.time_ns) : 0.0;
    since_mono_ns_ = now_mono_ns;
}

void StepGuard::clear() {
    reference_.reset();
    candidate_.reset();
    step_ns_ = 0;
}

void StepGuard::shift(double offset_ns) {
    if (reference_) reference_->offset_ns += offset_ns;
    if (candidate_) candidate_->offset_ns += offset_ns;
}

StepGuard::Observation StepGuard::observe(const BatchOffset& now, int64_t now_mono_ns) {
    Observation out;
    if (!candidate_) return out;
    if (reference_) {
        out.residual_ns = now.offset_ns - predict(*reference_, now.time_ns);
        const double tol =
            std::min(std::abs(step_ns_) / 2, tolerance(reference_->time_ns, now.time_ns));
        if (std::abs(out.residual_ns) <= tol) {
            out.verdict = Verdict::reverted;
            clear();
            return out;
        }
    }
    out.residual_ns = now.offset_ns - predict(*candidate_, now.time_ns);
    if (std::abs(out.residual_ns) > tolerance(candidate_->time_ns, now.time_ns)) {
        candidate_->time_ns = now.time_ns;
        candidate_->offset_ns = now.offset_ns;
        since_mono_ns_ = now_mono_ns;
        out.verdict = Verdict::moved;
        return out;
    }
    if (now_mono_ns - since_mono_ns_ >= options_.probation_ns) {
        out.verdict = Verdict::accepted;
        clear();
        return out;
    }
    out.verdict = Verdict::hold;
    return out;
}

std::optional<int64_t> GuestStepWatch::observe(int64_t monotonic_before_ns, int64_t realtime_ns,
                                               int64_t monotonic_after_ns) {
    int64_t lo = 0, hi = 0;
    if (monotonic_after_ns < monotonic_before_ns ||
        __builtin_sub_overflow(realtime_ns, monotonic_after_ns, &lo) ||
        __builtin_sub_overflow(realtime_ns, monotonic_before_ns, &hi)) {
        return std::nullopt;
    }
    const std::optional<std::pair<int64_t, int64_t>> before = difference_ns_;
    difference_ns_ = {lo, hi};
    if (!before) return std::nullopt;
    // Beyond the threshold however the two brackets overlap.
    const __int128 up = static_cast<__int128>(lo) - before->second;
    const __int128 down = static_cast<__int128>(before->first) - hi;
    const __int128 mid = (static_cast<__int128>(lo) + hi) / 2 -
                         (static_cast<__int128>(before->first) + before->second) / 2;
    if ((up > threshold_ns_ || down > threshold_ns_) && mid <= INT64_MAX && mid >= INT64_MIN) {
        return static_cast<int64_t>(mid);
    }
    return std::nullopt;
}

}  // namespace vmrefclock

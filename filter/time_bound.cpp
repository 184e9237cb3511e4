#include "filter/time_bound.h"

#include <algorithm>
#include <cmath>

namespace vmrefclock {

namespace {

uint32_t drift_ppb_of(const BoundMeasurement& m) {
    double drift_ppb = TimeBound::kUnknownDriftPpb;
    if (m.frequency_stddev_ppm) {
        drift_ppb = (std::abs(m.frequency_ppm) + 3 * *m.frequency_stddev_ppm) * 1000 +
                    TimeBound::kDriftMarginPpb;
    }
    if (!(drift_ppb >= 0)) drift_ppb = TimeBound::kMaxDriftPpb;  // NaN
    return static_cast<uint32_t>(std::min(std::ceil(drift_ppb), double{TimeBound::kMaxDriftPpb}));
}

int64_t bound_ns_of(const BoundMeasurement& m, uint32_t drift_ppb, int64_t coarse_res_ns) {
    const double age_ns = static_cast<double>(std::max<int64_t>(m.age_ns, 0));
    const double bound = std::abs(m.offset_ns) + m.error_ns +
                         drift_ppb * 1e-9 * (age_ns + static_cast<double>(coarse_res_ns));
    // Absurd input is no bound rather than an overflow in every reader.
    const auto unknown = static_cast<double>(TimeBound::kUnknownBoundNs);
    if (!std::isfinite(bound) || bound > unknown) return TimeBound::kUnknownBoundNs;
    return static_cast<int64_t>(std::ceil(bound));
}

}  // namespace

const PublishedBound& TimeBound::update(const TimeBoundInput& in) {
    bool new_disruption = false;
    if (!seen_any_ || in.disruptions != seen_disruptions_) {
        new_disruption = seen_any_;
        seen_disruptions_ = in.disruptions;
        seen_any_ = true;
    }
    if (new_disruption) disrupted_ = true;
    if (in.fresh) {
        last_.max_drift_ppb = drift_ppb_of(*in.fresh);
        last_.bound_ns = bound_ns_of(*in.fresh, last_.max_drift_ppb, in.coarse_resolution_ns);
        last_.as_of_coarse_mono_ns = in.now_coarse_mono_ns;
        have_bound_ = true;
    } else if (new_disruption && have_bound_) {
        // The host's clock has moved by an unknown step since the last bound.
        last_.bound_ns = kUnknownBoundNs;
        last_.as_of_coarse_mono_ns = in.now_coarse_mono_ns;
    }
    if (!have_bound_ || !in.host_usable) {
        last_.status = BoundStatus::unknown;
    } else if (in.fresh && in.fed_chrony) {
        last_.status = BoundStatus::synchronized;
        disrupted_ = false;
    } else if (disrupted_ || in.holdoff) {
        last_.status = BoundStatus::disrupted;
    } else {
        last_.status = BoundStatus::free_running;
    }
    return last_;
}

}  // namespace vmrefclock

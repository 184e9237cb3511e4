#include "filter/robust_filter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>

namespace vmrefclock {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// No bound is reported above this (about 31 years): an int64 holds it with room to spare.
constexpr double kMaxBoundNs = 1e18;
constexpr double kMaxPredictionS = 3600;
constexpr int kMinGateSamples = 8;
constexpr double kEarlyGateNs = 10'000;
// The sent bound: this many standard errors of the fitted value (from the fit's residual
// scatter), more for few samples, whose scatter is itself uncertain (as Student's t).
constexpr double kBoundSigmas = 4.5;
constexpr double kFewSamplesInflation = 4.0;

// The sent error bound of a fit's value, without the host's error: statistical, so that
// it is tight (the half-delays through the fit are a worst case that is 5-50x the real
// error). With fewer than 4 samples the scatter says too little: then not below the
// half-delays through the fit.
double statistical_bound(const LineFit& fit) {
    const double n = std::max(fit.n, 3);
    const double stat = kBoundSigmas * (1.0 + kFewSamplesInflation / (n - 2.0)) * fit.noise_stddev;
    return fit.n < 4 ? std::max(stat, fit.bias_bound) : stat;
}

// A reading's delay, midpoint and offset, or nothing when any of them would overflow
// int64 (possible only for absurd input, which must not become undefined behaviour).
std::optional<CheckedReading> validate(const Reading& r, int64_t max_delay) {
    int64_t delay = 0;
    if (__builtin_sub_overflow(r.sys_post_ns, r.sys_pre_ns, &delay)) return std::nullopt;
    if (delay < 0 || delay > max_delay) return std::nullopt;
    const int64_t mid = r.sys_pre_ns + delay / 2;
    int64_t offset = 0;
    if (__builtin_sub_overflow(r.ref_ns, mid, &offset)) return std::nullopt;
    return CheckedReading{mid, offset, delay};
}

double quantile(std::vector<int64_t>& v, double q) {
    const auto i = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
    return static_cast<double>(v[i]);
}

}  // namespace

RobustFilter::RobustFilter(RobustFilterOptions options)
    : options_(options),
      window_(static_cast<size_t>(kWindowSizes.back())),
      delays_(static_cast<size_t>(std::clamp(options.delay_history, 1, 1 << 16))),
      lines_(static_cast<size_t>(std::clamp(options.prediction_horizon, 1, 64))) {
    // Config-independent defaults, but the core must survive nonsense options too.
    if (!(options_.accept_spread > 0)) options_.accept_spread = 1.0;
    if (!(options_.error_smoothing > 0 && options_.error_smoothing <= 1)) {
        options_.error_smoothing = 1.0 / 32;
    }
    options_.max_predicted_polls = std::max(options_.max_predicted_polls, 0);
    options_.prediction_horizon = std::clamp(options_.prediction_horizon, 1, 64);
    if (!(options_.drift_allowance_ns_per_s >= 0)) options_.drift_allowance_ns_per_s = 1.0;
    if (options_.max_delay_ns < 0) options_.max_delay_ns = 0;
    pts_.reserve(static_cast<size_t>(kWindowSizes.back()));
    fit_scratch_.reserve(static_cast<size_t>(kWindowSizes.back()));
    pending_.reserve(2);  // a third disagreeing sample restarts the window from them
    restart_.reserve(2);
    clear_model();
}

void RobustFilter::clear_model() {
    window_.clear();
    pending_.clear();
    lines_.clear();
    tracker_.reset();
    model_.reset();
    pred_err_.fill(kNaN);
    estimate_.reset();
}

void RobustFilter::reset() {
    // Everything learnt before a disruption is void, the delay distribution included:
    // after a migration the new host's reads may be faster or slower.
    clear_model();
    delays_.clear();
    spiked_run_ = 0;
    marker_.reset();
    confirmed_step_ns_.reset();
}

// The acceptance threshold: learned from the history once there is some, from this
// batch alone before that. spread = median - q_lo, the scale of ordinary delay jitter.
std::optional<double> RobustFilter::delay_threshold(const std::vector<int64_t>& batch_delays,
                                                    double precision, double& spread) {
    double lo = 0;
    double mid = 0;
    if (delays_.size() >= 32) {
        lo = delays_.quantile(0.1);
        mid = delays_.quantile(0.5);
    } else {
        if (batch_delays.empty()) return std::nullopt;
        delay_pool_.assign(batch_delays.begin(), batch_delays.end());
        lo = quantile(delay_pool_, 0.1);
        mid = quantile(delay_pool_, 0.5);
    }
    spread = std::max({mid - lo, precision, 1.0});
    return lo + options_.accept_spread * spread;
}

// The model of the last emitted sample, evaluated at time_ns; nothing until it rests on
// two samples (one sample has no frequency: a flat line would call any drift a step).
std::optional<RobustFilter::Prediction> RobustFilter::predict(int64_t time_ns) const {
    if (!model_ || model_->n < 2) return std::nullopt;
    const double dt_s = seconds_between(time_ns, model_time_ns_);
    // An hour without a good sample: the frequency has wandered too far to extrapolate.
    if (std::abs(dt_s) > kMaxPredictionS) return std::nullopt;
    Prediction p;
    p.fit = at(*model_, dt_s);
    p.offset_ns = model_offset_ns_ + p.fit.value;
    const double drift =
        (3.0 * p.fit.slope_stddev + options_.drift_allowance_ns_per_s) * std::abs(dt_s);
    p.bound_ns = p.fit.bias_bound + 3.0 * p.fit.noise_stddev + drift;
    p.sent_bound_ns = statistical_bound(p.fit) + drift;
    // As in emit_fit: no further from the samples than they are from each other.
    const double span = model_hi_ns_ - model_lo_ns_;
    const double clamped = std::clamp(p.offset_ns, model_lo_ns_ - span, model_hi_ns_ + span);
    p.bound_ns += std::abs(clamped - p.offset_ns);
    p.sent_bound_ns += std::abs(clamped - p.offset_ns);
    p.offset_ns = clamped;
    if (!std::isfinite(p.offset_ns) || !std::isfinite(p.bound_ns) ||
        !std::isfinite(p.sent_bound_ns)) {
        return std::nullopt;
    }
    return p;
}

// Fits the chosen window (c is its newest sample) and makes the sample to send.
Result<Sample> RobustFilter::emit_fit(const Candidate& c, double host_error_ns, double precision) {
    const size_t n = std::min(window_.size(), static_cast<size_t>(chosen_size()));
    pts_.clear();
    double lo = c.offset_ns, hi = c.offset_ns;
    for (size_t i = window_.size() - n; i < window_.size(); ++i) {
        const Candidate& w = window_[i];
        pts_.push_back(
            {seconds_between(w.time_ns, c.time_ns), w.offset_ns - c.offset_ns, w.weight, w.err_ns});
        lo = std::min(lo, w.offset_ns);
        hi = std::max(hi, w.offset_ns);
    }
    const LineFit fit = fit_line(pts_, 0.0, /*robust=*/true, fit_scratch_);
    model_ = fit;
    model_time_ns_ = c.time_ns;
    model_offset_ns_ = c.offset_ns;
    model_lo_ns_ = lo;
    model_hi_ns_ = hi;
    double offset = c.offset_ns + fit.value;
    double bound = statistical_bound(fit);
    // The host-error tracker's estimate of the clock, once its bank has scored enough
    // samples to know the host's error from the clock's wander (host_error_tracker.h):
    // measured in the lab it is better than the line in every scenario (it keeps the
    // host's correlated re-anchoring error out, which no straight-line window can). The
    // line still gives the bound: an estimate better than the line has an error nearly
    // orthogonal to its difference from the line, so the line's error covers its error;
    // the difference is added in quadrature so that where the two disagree much (where
    // that argument is weakest) the bound widens.
    // A tracker further from the line than the line's worst-case error (half-delays and
    // 3 standard errors, as the gate's) has lost the clock: it starts again.
    if (std::optional<HostErrorTracker::Estimate> t = tracker_.estimate()) {
        if (std::abs(t->offset_ns - offset) <= fit.bias_bound + 3.0 * fit.noise_stddev) {
            bound = std::hypot(bound, t->offset_ns - offset);
            offset = t->offset_ns;
        } else {
            tracker_.reset();
        }
    }
    // Never further from the window's samples than they are from each other: a line
    // through nearly coincident times could otherwise extrapolate to absurdity.
    const double clamped = std::clamp(offset, lo - (hi - lo), hi + (hi - lo));
    bound += std::abs(clamped - offset);
    const double worst = std::min(fit.bias_bound + 3.0 * fit.noise_stddev +
                                      std::abs(clamped - offset) + host_error_ns + precision,
                                  kMaxBoundNs);
    offset = clamped;
    bound += host_error_ns + precision;
    if (!std::isfinite(offset) || !std::isfinite(bound)) {
        clear_model();
        return make_error("numerical failure in the fit; window restarted");
    }
    bound = std::min(bound, kMaxBoundNs);

    Sample s;
    s.time_ns = c.time_ns;
    s.offset_ns = offset;
    s.delay_ns = c.delay_ns;
    s.error_ns = static_cast<int64_t>(std::ceil(bound));
    s.readings_used = c.used;
    Estimate e;
    e.time_ns = c.time_ns;
    e.offset_ns = offset;
    e.frequency_ppm = fit.slope * 1e-3;  // ns/s -> ppm
    if (fit.n >= 3 && std::isfinite(fit.slope_stddev))
        e.frequency_stddev_ppm = fit.slope_stddev * 1e-3;
    e.stddev_ns = fit.stddev;
    e.error_bound_ns = bound;
    if (std::isfinite(worst)) e.worst_case_bound_ns = std::max(worst, bound);
    e.samples = std::max(fit.n, 1);
    estimate_ = e;
    return s;
}

Result<Sample> RobustFilter::process(const Batch& batch) {
    confirmed_step_ns_.reset();
    if (!batch.unusable_reason.empty()) {
        return make_error("source unusable: " + batch.unusable_reason);
    }
    double host_error = 0;
    if (batch.host) {
        // A new marker is a disruption even if the caller missed it.
        if (marker_ && *marker_ != batch.host->disruption_marker) reset();
        marker_ = batch.host->disruption_marker;
        if (batch.host->time_maxerror_ns) {
            host_error = std::min(static_cast<double>(*batch.host->time_maxerror_ns), kMaxBoundNs);
        }
    }
    const double precision = std::clamp(static_cast<double>(batch.precision_ns), 1.0, kMaxBoundNs);

    std::vector<CheckedReading>& valid = valid_;
    valid.clear();
    for (const Reading& r : batch.readings) {
        if (auto v = validate(r, options_.max_delay_ns)) valid.push_back(*v);
    }
    if (valid.empty()) {
        return make_error(batch.readings.empty() ? "empty batch: no readings"
                                                 : "all readings rejected (negative, overflowing "
                                                   "or above the maximum delay)");
    }
    std::vector<int64_t>& batch_delays = batch_delays_;
    batch_delays.clear();
    for (const CheckedReading& v : valid) batch_delays.push_back(v.delay_ns);
    double spread = 1;
    const double threshold = *delay_threshold(batch_delays, precision, spread);
    for (int64_t d : batch_delays) delays_.add(d);

    const auto min_it = std::min_element(
        valid.begin(), valid.end(),
        [](const CheckedReading& a, const CheckedReading& b) { return a.delay_ns < b.delay_ns; });
    std::vector<CheckedReading>& accepted = accepted_;
    accepted.clear();
    for (const CheckedReading& v : valid) {
        if (static_cast<double>(v.delay_ns) <= threshold) accepted.push_back(v);
    }
    if (accepted.empty()) {
        ++spiked_run_;
        if (spiked_run_ <= options_.max_predicted_polls && !window_.empty() &&
            min_it->mid_ns > window_.back().time_ns) {
            if (std::optional<Prediction> p = predict(min_it->mid_ns)) {
                // Nothing new learnt: the model speaks for this poll, its bound widened by
                // the drift since the newest good sample.
                Sample s;
                s.time_ns = min_it->mid_ns;
                s.offset_ns = p->offset_ns;
                s.delay_ns = min_it->delay_ns;
                const double bound =
                    std::min(p->sent_bound_ns + host_error + precision, kMaxBoundNs);
                s.error_ns = static_cast<int64_t>(std::ceil(bound));
                s.readings_used = 0;
                return s;
            }
        }
        accepted.push_back(*min_it);
    } else {
        spiked_run_ = 0;
    }

    // Weighted mean of the accepted readings: the weights fall with the excess delay,
    // which is what the midpoint's error scales with. Differences to the first reading
    // in 128 bits: the readings of absurd input may lie 2^63 ns apart.
    const double floor = static_cast<double>(min_it->delay_ns);
    double sw = 0, sw2 = 0, st = 0, so = 0, serr = 0;
    int64_t max_delay = 0;
    for (const CheckedReading& v : accepted) {
        const double excess = static_cast<double>(v.delay_ns) - floor;
        const double w = 1.0 / ((excess + spread) * (excess + spread));
        sw += w;
        sw2 += w * w;
        st += w * static_cast<double>(static_cast<__int128>(v.mid_ns) - accepted[0].mid_ns);
        so += w * static_cast<double>(static_cast<__int128>(v.offset_ns) - accepted[0].offset_ns);
        serr += w * std::max(static_cast<double>(v.delay_ns) / 2.0, precision);
        max_delay = std::max(max_delay, v.delay_ns);
    }
    // The weighted mean of the midpoints. Absurd input may put them up to 2^64 ns apart, so
    // the mean's distance from the first may not fit int64, and rounding may push the mean
    // a hair outside int64 at the ends of the range: such a batch gives no sample.
    const double mean_dt = st / sw;
    if (!(std::abs(mean_dt) < 0x1p63)) return make_error("readings give no representable time");
    const __int128 time = static_cast<__int128>(accepted[0].mid_ns) + std::llround(mean_dt);
    if (time > std::numeric_limits<int64_t>::max() || time < std::numeric_limits<int64_t>::min()) {
        return make_error("readings give no representable time");
    }
    Candidate c;
    c.time_ns = static_cast<int64_t>(time);
    c.offset_ns = static_cast<double>(accepted[0].offset_ns) + so / sw;
    c.err_ns = serr / sw;
    c.weight = (sw * sw / sw2) / (c.err_ns * c.err_ns);
    c.delay_ns = max_delay;
    c.used = static_cast<int>(accepted.size());
    if (!std::isfinite(c.offset_ns) || !std::isfinite(c.weight)) {
        return make_error("readings give no finite offset");
    }

    // The system clock went back (or stood still): the window's times are of another
    // timescale now.
    if (!window_.empty() && c.time_ns <= window_.back().time_ns) clear_model();
    if (!pending_.empty() && c.time_ns <= pending_.back().time_ns) pending_.clear();

    if (std::optional<Prediction> p = predict(c.time_ns)) {
        const double residual = c.offset_ns - p->offset_ns;
        // The sample's own scatter too, from the fit's residuals: half-delays understate
        // it for cross-timestamps (delay 0), whose noise is the device's. The factor
        // grows for few samples, where the stddev itself is uncertain.
        const int n = std::max(p->fit.n, 3);
        const double k = 6.0 * (1.0 + 4.0 / static_cast<double>(n - 2));
        const double scatter = p->fit.stddev * std::sqrt(p->fit.wmean / std::max(c.weight, 1e-300));
        const double scatter_bound = std::isfinite(scatter) ? k * scatter : 0.0;
        double gate = 2.0 * (p->bound_ns + c.err_ns) + scatter_bound + 10.0 * precision;
        // A handful of samples may show too little scatter by chance (none at all with
        // two): until the fit has seen enough, only a step far beyond any read noise
        // counts, such as the 4.5 ms master-clock step.
        if (p->fit.n < kMinGateSamples) gate = std::max(gate, kEarlyGateNs);
        if (std::abs(residual) > gate) {
            if (!pending_.empty()) {
                const Candidate& prev = pending_.back();
                const double dt_s = seconds_between(c.time_ns, prev.time_ns);
                const double expect = prev.offset_ns + p->fit.slope * dt_s;
                const double prev_res = prev.offset_ns - (p->offset_ns - p->fit.slope * dt_s);
                const bool agree =
                    std::abs(c.offset_ns - expect) <=
                        2.0 * (prev.err_ns + c.err_ns) + scatter_bound + 0.1 * std::abs(residual) &&
                    (prev_res > 0) == (residual > 0);
                // Three clean samples in a row far off the model: whatever they agree on,
                // the model (its frequency, say) no longer describes the clock.
                if (agree || pending_.size() >= 2) {
                    // Confirmed: the reference stepped. Restart from the pending samples.
                    restart_.assign(pending_.begin(), pending_.end());
                    confirmed_step_ns_ = residual;
                    clear_model();
                    for (const Candidate& w : restart_) window_.push_back(w);
                    window_.push_back(c);
                    for (const Candidate& w : window_)
                        tracker_.update(w.time_ns, w.offset_ns, w.err_ns);
                    return emit_fit(c, host_error, precision);
                }
            }
            pending_.push_back(c);
            return make_error("sample disagrees with the model by " +
                              std::to_string(std::llround(residual)) +
                              " ns; confirming a step before following it");
        }
    }
    pending_.clear();

    learn_window_errors(c);
    tracker_.update(c.time_ns, c.offset_ns, c.err_ns);
    window_.push_back(c);  // full: the oldest sample leaves
    remember_window_lines();
    return emit_fit(c, host_error, precision);
}

}  // namespace vmrefclock

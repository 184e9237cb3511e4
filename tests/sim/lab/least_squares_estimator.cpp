#include "tests/sim/lab/least_squares_estimator.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace vmrefclock::lab {

LeastSquaresEstimator::LeastSquaresEstimator(int window) : capacity_(std::max(window, 1)) {}

void LeastSquaresEstimator::add(const Sample& sample) {
    if (!std::isfinite(sample.offset_ns)) return;
    while (!window_.empty() && window_.back().time_ns >= sample.time_ns) window_.pop_back();
    window_.push_back(sample);
    while (static_cast<int>(window_.size()) > capacity_) window_.pop_front();
}

void LeastSquaresEstimator::reset() {
    window_.clear();
}

std::optional<Estimate> LeastSquaresEstimator::estimate() const {
    if (window_.empty()) return std::nullopt;
    return predict(window_.back().time_ns);
}

std::optional<Estimate> LeastSquaresEstimator::predict(int64_t time_ns) const {
    if (window_.empty()) return std::nullopt;
    const size_t n = window_.size();
    const int64_t t_ref = window_.back().time_ns;
    const double y_ref = window_.front().offset_ns;  // offsets relative to this: see header

    // x in seconds relative to t_ref; the int64 difference is exact, its double
    // conversion is accurate to well below 1 ns for any window shorter than months.
    std::vector<double> x(n);
    std::vector<double> y(n);
    double xm = 0.0;
    double ym = 0.0;
    for (size_t i = 0; i < n; ++i) {
        x[i] = static_cast<double>(window_[i].time_ns - t_ref) * 1e-9;
        y[i] = window_[i].offset_ns - y_ref;
        xm += x[i];
        ym += y[i];
    }
    xm /= static_cast<double>(n);
    ym /= static_cast<double>(n);

    // Centred sums: the textbook n*sum(x^2) - sum(x)^2 form cancels catastrophically.
    double sxx = 0.0;
    double sxy = 0.0;
    for (size_t i = 0; i < n; ++i) {
        sxx += (x[i] - xm) * (x[i] - xm);
        sxy += (x[i] - xm) * (y[i] - ym);
    }
    // Slope in ns/s. With one sample (or, defensively, no spread in time) there is no
    // slope to fit: frequency 0 and the line is flat through the mean.
    double b = 0.0;
    if (n >= 2 && sxx > 0.0) {
        b = sxy / sxx;
        if (!std::isfinite(b)) b = 0.0;
    }
    const double a = ym - b * xm;  // fitted offset at t_ref, relative to y_ref

    double stddev = 0.0;
    if (n >= 3) {
        double ss = 0.0;
        for (size_t i = 0; i < n; ++i) {
            const double r = y[i] - (a + b * x[i]);
            ss += r * r;
        }
        stddev = std::sqrt(ss / static_cast<double>(n - 2));  // two fitted parameters
    }

    const double x0 = static_cast<double>(time_ns - t_ref) * 1e-9;
    // Weights of each sample in the fitted value at x0 (see the header).
    double bias_bound = 0.0;
    double sum_w2 = 0.0;
    for (size_t i = 0; i < n; ++i) {
        double w = 1.0 / static_cast<double>(n);
        if (n >= 2 && sxx > 0.0) w += (x[i] - xm) * (x0 - xm) / sxx;
        bias_bound += std::abs(w) * static_cast<double>(std::max<int64_t>(window_[i].error_ns, 0));
        sum_w2 += w * w;
    }

    Estimate e;
    e.time_ns = time_ns;
    e.offset_ns = y_ref + a + b * x0;
    e.frequency_ppm = b * 1e-3;  // ns/s = 1e-9 s/s; ppm = 1e-6 s/s
    e.stddev_ns = stddev;
    e.error_bound_ns = bias_bound + 3.0 * stddev * std::sqrt(sum_w2);
    e.samples = static_cast<int>(n);
    // Last line of defence: an absurd input (e.g. offsets near DBL_MAX) must not turn
    // into NaN/inf for chrony; report the newest sample instead, with an infinite-free
    // but honest "unknown" error.
    if (!std::isfinite(e.offset_ns) || !std::isfinite(e.frequency_ppm) ||
        !std::isfinite(e.stddev_ns) || !std::isfinite(e.error_bound_ns)) {
        e.offset_ns = window_.back().offset_ns;
        e.frequency_ppm = 0.0;
        e.stddev_ns = 0.0;
        e.error_bound_ns = std::max(std::abs(e.offset_ns), 1e18);
    }
    return e;
}

}  // namespace vmrefclock::lab

#include "filter/robust_regression.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vmrefclock {

namespace {

struct Sums {
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    void add(double x, double y, double w) {
        sw += w;
        sx += w * x;
        sy += w * y;
        sxx += w * x * x;
        sxy += w * x * y;
    }
};

// Weighted fit with the given per-point weights; fills everything but the bounds.
void weighted_fit(std::span<const FitPoint> pts, const std::vector<double>& v, double& a, double& b,
                  double& xm) {
    double sw = 0, sx = 0, sy = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
        sw += v[i];
        sx += v[i] * pts[i].x;
        sy += v[i] * pts[i].y;
    }
    xm = sx / sw;
    const double ym = sy / sw;
    // Centred sums: the uncentred form cancels badly when x spans little.
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
        const double dx = pts[i].x - xm;
        sxx += v[i] * dx * dx;
        sxy += v[i] * dx * (pts[i].y - ym);
    }
    b = (pts.size() >= 2 && sxx > 0) ? sxy / sxx : 0.0;
    if (!std::isfinite(b)) b = 0.0;
    a = ym - b * xm;  // value at x = 0
}

}  // namespace

LineFit fit_line(std::span<const FitPoint> pts, double x0, bool robust) {
    FitScratch scratch;
    return fit_line(pts, x0, robust, scratch);
}

LineFit fit_line(std::span<const FitPoint> pts, double x0, bool robust, FitScratch& scratch) {
    LineFit f;
    const size_t n = pts.size();
    if (n == 0) return f;
    std::vector<double>& v = scratch.v;
    v.resize(n);
    for (size_t i = 0; i < n; ++i) {
        v[i] = (std::isfinite(pts[i].w) && pts[i].w > 0) ? pts[i].w : 1.0;
    }
    std::vector<double>& w0 = scratch.w0;
    w0.assign(v.begin(), v.end());
    double a = 0, b = 0, xm = 0;
    weighted_fit(pts, v, a, b, xm);

    std::vector<double>& r = scratch.r;
    r.resize(n);
    if (robust && n >= 4) {
        std::vector<double>& absr = scratch.absr;
        absr.resize(n);
        std::vector<double>& sw0 = scratch.sw0;
        sw0.resize(n);
        for (size_t i = 0; i < n; ++i) sw0[i] = std::sqrt(w0[i]);
        double w0_mean = 0;
        for (size_t i = 0; i < n; ++i) w0_mean += w0[i] / static_cast<double>(n);
        // Iterated to convergence (usually 2-3 rounds): from a start dragged far by a wild
        // point, a fixed small number of rounds would leave part of the drag.
        for (int round = 0; round < 10; ++round) {
            for (size_t i = 0; i < n; ++i) {
                r[i] = pts[i].y - (a + b * pts[i].x);
                // Residuals scaled to a typical point: a heavier point should sit closer.
                absr[i] = std::abs(r[i]) * sw0[i];
            }
            std::nth_element(absr.begin(), absr.begin() + static_cast<long>(n / 2), absr.end());
            const double scale = 1.4826 * absr[n / 2];
            if (!(scale > 0) || !std::isfinite(scale)) break;
            for (size_t i = 0; i < n; ++i) {
                const double z = std::abs(r[i]) * sw0[i] / (2.0 * scale);
                v[i] = w0[i] * (z > 1.0 ? 1.0 / z : 1.0);
            }
            const double a_prev = a, b_prev = b;
            weighted_fit(pts, v, a, b, xm);
            const double change = std::max(std::abs((a - a_prev) + (b - b_prev) * pts.front().x),
                                           std::abs((a - a_prev) + (b - b_prev) * pts.back().x));
            if (change <= 1e-3 * scale / std::sqrt(w0_mean)) break;
        }
    }

    double sw = 0, sxx = 0, ss = 0;
    for (size_t i = 0; i < n; ++i) {
        sw += v[i];
        sxx += v[i] * (pts[i].x - xm) * (pts[i].x - xm);
        const double ri = pts[i].y - (a + b * pts[i].x);
        ss += v[i] * ri * ri;
    }
    // Residual variance of a point of average weight, with 2 fitted parameters.
    const double var_unit =
        n >= 3 ? ss / sw * static_cast<double>(n) / static_cast<double>(n - 2) : 0.0;
    const double wmean = sw / static_cast<double>(n);

    // value = sum c_i y_i; point i has variance var_unit * wmean / v_i.
    double bias = 0, var_value = 0, err_mean = 0, err_slope = 0;
    for (size_t i = 0; i < n; ++i) {
        err_mean += v[i] * std::max(pts[i].err, 0.0);
        err_slope += v[i] * std::abs(pts[i].x - xm) * std::max(pts[i].err, 0.0);
        double c = v[i] / sw;
        if (n >= 2 && sxx > 0) c += v[i] * (pts[i].x - xm) * (x0 - xm) / sxx;
        bias += std::abs(c) * std::max(pts[i].err, 0.0);
        var_value += c * c * var_unit * wmean / v[i];
    }

    f.ok = true;
    f.n = static_cast<int>(n);
    f.value = a + b * x0;
    f.slope = b;
    f.stddev = std::sqrt(var_unit);
    f.slope_stddev = (n >= 3 && sxx > 0) ? std::sqrt(var_unit * wmean / sxx) : 0.0;
    f.bias_bound = bias;
    f.noise_stddev = std::sqrt(std::max(var_value, 0.0));
    f.intercept = a;
    f.xm = xm;
    f.sw = sw;
    f.sxx = sxx;
    f.var_point = var_unit;
    f.wmean = wmean;
    f.err_mean = err_mean / sw;
    f.err_slope = (n >= 2 && sxx > 0) ? err_slope / sxx : 0.0;
    return f;
}

LineFit at(const LineFit& fit, double x0) {
    LineFit f = fit;
    if (!fit.ok) return f;
    const double dx = x0 - fit.xm;
    f.value = fit.intercept + fit.slope * x0;
    f.bias_bound = fit.err_mean + std::abs(dx) * fit.err_slope;
    // sum c_i^2 / v_i = 1/sw + dx^2/sxx: the cross term vanishes as sum v_i (x_i - xm) = 0.
    double factor = 1.0 / fit.sw;
    if (fit.n >= 2 && fit.sxx > 0) factor += dx * dx / fit.sxx;
    f.noise_stddev = std::sqrt(std::max(fit.var_point * fit.wmean * factor, 0.0));
    return f;
}

std::vector<Line> fit_by_window(std::span<const FitPoint> pts, std::span<const int> sizes) {
    std::vector<Line> out(sizes.size());
    fit_by_window(pts, sizes, out);
    return out;
}

void fit_by_window(std::span<const FitPoint> pts, std::span<const int> sizes, std::span<Line> out) {
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    std::fill(out.begin(), out.end(), Line{kNaN, kNaN});
    sizes = sizes.first(std::min(sizes.size(), out.size()));
    if (pts.empty()) return;
    // Relative to the newest point: keeps the uncentred sums well conditioned, since x
    // spans at most the window and y varies little across it.
    const double xr = pts.back().x;
    const double yr = pts.back().y;
    Sums s;
    size_t k = 0;
    int count = 0;
    for (size_t i = pts.size(); i-- > 0 && k < sizes.size();) {
        const double w = (std::isfinite(pts[i].w) && pts[i].w > 0) ? pts[i].w : 1.0;
        s.add(pts[i].x - xr, pts[i].y - yr, w);
        ++count;
        while (k < sizes.size() && sizes[k] <= count) {
            if (sizes[k] == count) {
                const double det = s.sw * s.sxx - s.sx * s.sx;
                double b = 0;
                if (count >= 2 && det > 1e-12 * s.sw * s.sxx) {
                    b = (s.sw * s.sxy - s.sx * s.sy) / det;
                }
                out[k] = Line{yr + (s.sy - b * s.sx) / s.sw, b};
            }
            ++k;
        }
    }
}

}  // namespace vmrefclock

// Weighted straight-line fits for the robust filter: a Huber-reweighted fit for the
// output, and cheap plain fits of many window lengths at once for choosing the window.
//
// Points are (x, y) with x in seconds relative to some reference time (so every x is
// small) and y in ns relative to some reference offset: raw 1.8e18 ns time points
// would lose all precision in a double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vmrefclock {

// a - b in seconds, for any two int64 time points (a point's x): the difference is taken
// in 128 bits, because absurd input may put them up to 2^64 ns apart (issue 9: signed
// overflow).
inline double seconds_between(int64_t a, int64_t b) {
    return static_cast<double>(static_cast<__int128>(a) - b) * 1e-9;
}

struct FitPoint {
    double x = 0;    // s
    double y = 0;    // ns
    double w = 1;    // weight, proportional to 1 / variance
    double err = 0;  // bound on |y - true offset| (ns), e.g. half the delay
};

struct LineFit {
    bool ok = false;
    int n = 0;
    double value = 0;         // fitted y at x0 (ns)
    double slope = 0;         // ns/s
    double stddev = 0;        // residual standard deviation of a typical point (ns)
    double slope_stddev = 0;  // standard error of the slope (ns/s)
    double bias_bound = 0;    // sum |c_i| err_i, c_i = the points' weights in value
    double noise_stddev = 0;  // standard error of value from the residual scatter

    // The fit itself, to evaluate it elsewhere (see at()).
    double intercept = 0;  // y at x = 0
    double xm = 0;         // weighted mean x
    double sw = 0;         // sum of final weights
    double sxx = 0;        // weighted sum of (x - xm)^2
    double var_point = 0;  // variance of a point of weight wmean
    double wmean = 0;      // mean final weight
    double err_mean = 0;   // sum v_i err_i / sw
    double err_slope = 0;  // sum v_i |x_i - xm| err_i / sxx
};

// The same fit evaluated at another x0, without the points: value and noise are exact;
// bias_bound becomes err_mean + |x0 - xm| * err_slope, which is >= the exact sum by the
// triangle inequality (equal when extrapolating beyond every point).
LineFit at(const LineFit& fit, double x0);

// Per-point working arrays of fit_line, kept by a caller that fits every poll so that a
// fit allocates nothing once they have grown to the largest window.
struct FitScratch {
    std::vector<double> v, w0, r, absr, sw0;
    void reserve(size_t points) {
        for (std::vector<double>* a : {&v, &w0, &r, &absr, &sw0}) a->reserve(points);
    }
};

// Weighted least squares line through pts, evaluated at x0. robust: Huber reweighting
// (k = 2 robust sigmas) to convergence, so a few bad points cannot drag the line.
// One point: flat line through it. No spread in x: flat line through the mean.
LineFit fit_line(std::span<const FitPoint> pts, double x0, bool robust, FitScratch& scratch);
// The same with scratch of its own (allocates).
LineFit fit_line(std::span<const FitPoint> pts, double x0, bool robust);

// Plain weighted fits over the newest n points for each n in sizes (ascending), all
// in one pass from the newest point backwards; pts oldest first. Per size, the line
// y = value + slope * (x - pts.back().x), or NaNs when there are fewer than n points.
struct Line {
    double value = 0;  // at the newest point's x
    double slope = 0;  // per unit of x
};
// `out` has one Line per size.
void fit_by_window(std::span<const FitPoint> pts, std::span<const int> sizes, std::span<Line> out);
std::vector<Line> fit_by_window(std::span<const FitPoint> pts, std::span<const int> sizes);

}  // namespace vmrefclock

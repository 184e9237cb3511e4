// RobustFilter's choice of window length (robust_filter.h, step 3), as linuxptp's linreg
// chooses it: every length's line is remembered, and scored against the sample that
// arrives prediction_horizon samples later; the length that predicts best is fitted.
#include <algorithm>
#include <cmath>
#include <limits>

#include "filter/robust_filter.h"

namespace vmrefclock {

// linreg's window choice: how well each window length predicted c from the window as it
// was prediction_horizon samples ago. A horizon beyond one sample matters when the noise
// is correlated from sample to sample (the host re-anchors its clock every few seconds):
// one step ahead, the shortest window always looks best because it follows that noise.
void RobustFilter::learn_window_errors(const Candidate& c) {
    if (static_cast<int>(lines_.size()) < options_.prediction_horizon) return;
    const WindowLines& old = lines_.front();
    const double dx = seconds_between(c.time_ns, old.time_ns);
    for (size_t k = 0; k < kWindowSizes.size(); ++k) {
        if (std::isnan(old.lines[k].value)) break;
        const double e =
            std::abs(c.offset_ns - old.offset_ns - (old.lines[k].value + old.lines[k].slope * dx));
        if (!std::isfinite(e)) continue;
        // A length tracked for the first time starts from the next shorter one's record
        // (optimistic: the window grows as soon as it has the samples, as linreg's does).
        if (std::isnan(pred_err_[k])) {
            pred_err_[k] = (k > 0 && !std::isnan(pred_err_[k - 1])) ? pred_err_[k - 1] : e;
        }
        pred_err_[k] += options_.error_smoothing * (e - pred_err_[k]);
    }
    lines_.pop_front();
}

// The lines of every window length through the window as it is now, for scoring them
// against the sample prediction_horizon samples from now.
void RobustFilter::remember_window_lines() {
    const Candidate& newest = window_.back();
    const size_t n = std::min(window_.size(), static_cast<size_t>(kWindowSizes.back()));
    pts_.clear();
    for (size_t i = window_.size() - n; i < window_.size(); ++i) {
        const Candidate& w = window_[i];
        pts_.push_back({seconds_between(w.time_ns, newest.time_ns), w.offset_ns - newest.offset_ns,
                        w.weight, w.err_ns});
    }
    WindowLines wl;
    wl.time_ns = newest.time_ns;
    wl.offset_ns = newest.offset_ns;
    fit_by_window(pts_, kWindowSizes, wl.lines);
    lines_.push_back(wl);
}

int RobustFilter::chosen_size() const {
    int best = static_cast<int>(window_.size());  // all, until a length has a record
    double best_err = std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < kWindowSizes.size(); ++k) {
        if (std::isnan(pred_err_[k]) || kWindowSizes[k] > static_cast<int>(window_.size())) break;
        if (pred_err_[k] <= best_err) {  // ties: the longer window
            best_err = pred_err_[k];
            best = kWindowSizes[k];
        }
    }
    return std::max(best, 1);
}

}  // namespace vmrefclock

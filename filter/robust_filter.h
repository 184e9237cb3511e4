// RobustFilter: the daemon's default SampleFilter. Each poll's batch becomes one sample
// for chrony in three steps:
//
// 1. Selection by delay. A reading's midpoint is off by up to half its delay, and a
//    preempted read (a spike) can put the reference read anywhere inside it. The delays
//    of the last delay_history readings give a learned floor q_lo (10 % quantile) and a
//    typical spread (median - q_lo), as chrony learns its delay quantiles. Readings above
//    q_lo + accept_spread * spread are rejected; the rest are averaged with weights
//    falling with their excess delay.
// 2. Rejection against the model. A sample that disagrees with the model's prediction
//    by more than twice the sum of both error bounds cannot be explained by noise: it is
//    not sent (the poll returns an error). Two such samples in a row that agree with
//    each other are a step of the reference (a master-clock step, no marker), and three
//    in a row mean the model no longer holds (a frequency change): the window restarts
//    from them, so the filter follows within two polls instead of smoothing it away.
// 3. A robust weighted line over an adaptive window. As linuxptp's linreg does, several
//    window lengths (4..256 samples) are fitted each poll and each one's prediction error
//    is tracked (exponential average); the length that predicts best is used, so the
//    window is long when the clock is stable and short when it wanders. Unlike linreg,
//    the prediction is prediction_horizon samples ahead, not one: the host re-anchors
//    its published clock every few seconds, so sample errors are correlated and one step
//    ahead the shortest window always wins by following them. The line is
//    Huber-reweighted to convergence (robust to the odd bad sample that passed 1 and 2).
//    The line is the model for steps 2 and the spiked batches below, and for the bound.
// 4. The sent offset: once it has learnt its model (32 samples after a (re)start), that
//    of a Kalman tracker fed the same samples (host_error_tracker.h), which models the
//    host's re-anchoring error as a correlated process of its own and the clock as
//    offset, frequency and frequency drift, its noise levels chosen by likelihood. A
//    straight line cannot keep that error out: short windows follow it, long ones lag
//    a wandering frequency (a 0.1 ppm temperature cycle).
// When a whole batch is spiked (nothing passes 1), the model's prediction is sent (for
// up to max_predicted_polls polls in a row) rather than a spiked reading.
//
// Error bound of a sample (ns), statistical so that it is tight (the worst case, the
// readings' half-delays through the fit, is 5-50x the real error):
//   error = 4.5 * (1 + 4 / (n - 2)) * noise_stddev   the fitted value's standard error
//                                         from the fit's residual scatter, inflated for a
//                                         window of few samples (n), whose scatter is
//                                         itself uncertain; with n < 4 not below the
//                                         half-delays through the fit
//         + (3 * slope_stddev + drift_allowance) * dt
//                                         drift since the newest good sample (dt = 0
//                                         except for predictions over spiked batches)
//   (combined in quadrature with |tracker - line| when the tracker's offset is sent)
//         + time_maxerror                 the host's published error, when present
//         + precision
// plus, if the fitted value had to be clamped to the samples' range (absurd input
// only), the distance it was moved. Capped at 1e18 ns. Measured in the clock lab
// (scripts/bench): the truth is inside it in >= 99.9 % of samples in every scenario.
// The gate of step 2 keeps the worst-case form (half-delays + 3 noise_stddev): a
// tighter gate would take ordinary noise for steps.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "filter/host_error_tracker.h"
#include "filter/result.h"
#include "filter/ring_buffer.h"
#include "filter/robust_quantiles.h"
#include "filter/robust_regression.h"
#include "filter/sample_filter.h"
#include "filter/types.h"

namespace vmrefclock {

// A reading whose delay, midpoint and offset are representable (robust_filter.cpp).
struct CheckedReading {
    int64_t mid_ns = 0;
    int64_t offset_ns = 0;
    int64_t delay_ns = 0;
};

struct RobustFilterOptions {
    // A delay above this is an interruption, not a clock read (10 ms: real reads take
    // tens of ns to tens of µs).
    int64_t max_delay_ns = 10'000'000;
    // Readings whose delays form the learned delay distribution (64 polls of 10).
    int delay_history = 640;
    // Accept readings up to q_lo + accept_spread * (median - q_lo).
    double accept_spread = 1.0;
    // Window lengths are scored by predicting the sample this many samples ahead.
    int prediction_horizon = 16;
    // Exponential averaging constant of the windows' prediction errors.
    double error_smoothing = 1.0 / 32;
    // Spiked batches in a row answered with the model's prediction; beyond that the
    // lowest-delay reading is used (the delay distribution may have moved for good).
    int max_predicted_polls = 8;
    // Unmodelled frequency change allowed for when extrapolating: 1 ns/s = 0.001 ppm.
    double drift_allowance_ns_per_s = 1.0;
};

class RobustFilter final : public SampleFilter {
  public:
    static constexpr std::array<int, 7> kWindowSizes = {4, 8, 16, 32, 64, 128, 256};

    explicit RobustFilter(RobustFilterOptions options = {});
    Result<Sample> process(const Batch& batch) override;
    std::optional<Estimate> estimate() const override { return estimate_; }
    void reset() override;
    int samples_in_window() const override { return estimate_ ? estimate_->samples : 0; }
    std::optional<double> confirmed_step_ns() const override { return confirmed_step_ns_; }

  private:
    struct Candidate {
        int64_t time_ns = 0;
        double offset_ns = 0;
        double err_ns = 0;  // weighted mean half-delay of its readings
        double weight = 0;  // for the regression: effective readings / err^2
        int64_t delay_ns = 0;
        int used = 0;
    };
    struct Prediction {
        double offset_ns = 0;
        double bound_ns = 0;       // worst case, without the host's error: for the gate
        double sent_bound_ns = 0;  // statistical, without the host's error: sent
        LineFit fit;
    };

    void clear_model();
    std::optional<double> delay_threshold(const std::vector<int64_t>& batch_delays,
                                          double precision, double& spread);
    std::optional<Prediction> predict(int64_t time_ns) const;
    struct WindowLines {
        int64_t time_ns = 0;   // of the newest sample then
        double offset_ns = 0;  // of the newest sample then
        std::array<Line, kWindowSizes.size()> lines{};
    };
    void learn_window_errors(const Candidate& c);
    void remember_window_lines();
    int chosen_size() const;
    Result<Sample> emit_fit(const Candidate& c, double host_error_ns, double precision);

    RobustFilterOptions options_;
    RingBuffer<Candidate> window_;                        // oldest first, times strictly increasing
    std::array<double, kWindowSizes.size()> pred_err_{};  // NaN: not tracked yet
    SlidingQuantiles delays_;
    RingBuffer<WindowLines> lines_;   // oldest first, at most prediction_horizon
    HostErrorTracker tracker_;        // the sent offset, once it is ready (emit_fit)
    std::vector<Candidate> pending_;  // clean samples disagreeing with the model
    // Scratch, kept so that a steady poll allocates nothing (sized by the first batches).
    std::vector<FitPoint> pts_;
    FitScratch fit_scratch_;
    std::vector<CheckedReading> valid_, accepted_;
    std::vector<int64_t> batch_delays_, delay_pool_;
    std::vector<Candidate> restart_;
    int spiked_run_ = 0;
    std::optional<uint64_t> marker_;
    std::optional<double> confirmed_step_ns_;  // of the last process() call
    std::optional<Estimate> estimate_;
    std::optional<LineFit> model_;  // of the last emitted sample, x and y relative to:
    int64_t model_time_ns_ = 0;
    double model_offset_ns_ = 0;
    double model_lo_ns_ = 0;  // the fitted samples' offset range
    double model_hi_ns_ = 0;
};

}  // namespace vmrefclock

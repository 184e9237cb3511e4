// HostErrorTracker: a Kalman tracker that tells the host's correlated error apart from
// the clock itself.
//
// Why: a vmclock host re-anchors its published clock every few seconds, each time with
// a small error of its own, so a sample's offset is
//     y = x + h + v
// where x is the true offset (smooth: it moves with a frequency that wanders), h the
// host's current re-anchoring error (constant for seconds, then jumps to a fresh value,
// zero on average) and v the read noise (independent per poll). A straight line
// through the samples treats h as if it were independent per sample: extrapolated to the
// newest sample it follows h almost fully (a short window) or lags the clock's wander (a
// long one). Modelled as its own process, h is mostly recognisable: a jump of y that the
// smooth x cannot make is h's, and h's being zero on average pulls the estimate of the
// clock towards the middle of the recent re-anchorings.
//
// The model, per time step dt (s), state x, f (frequency, ns/s), d (its drift, ns/s^2), h:
//     x' = x + f dt + d dt^2 / 2    f' = f + d dt + w_f    d' = d + w_d
//     w_f, w_d: white noise of densities q (ns^2/s^3) and qd (ns^2/s^5), integrated
//     h' = phi h + u,  phi = exp(-dt / tau),  var(u) = sigma_h^2 (1 - phi^2)
//     y = x + h + v,   var(v) = r * err^2  (err: the sample's half-delay bound; a read's
//                                           noise scales with its delay, on any source)
// (h a first-order Gauss-Markov process: the simplest correlated, mean-zero error; d
// lets a temperature cycle bend the frequency smoothly instead of as noise). None of
// q, qd, sigma_h, tau, r is known in advance and they differ between hosts, so a bank
// of filters covers a grid of them (factors of 2-10 apart, 1040 members: a few
// microseconds each per poll) and the one whose one-step predictions of the samples are
// the most likely (exponentially forgetting negative log-likelihood of the innovations,
// log S + nu^2 / S) is used: maximum likelihood, learnt from the data. Members with
// sigma_h = 0 are plain trackers, so a clock without such an error is covered too.
// tau stops at 16 s: an error correlated for longer cannot be told from the clock's own
// wander by any estimator, and letting the model try makes it trade one for the other.
//
// Innovations beyond kClip standard deviations are clipped (a robust Kalman filter): a
// bad sample that passed the caller's gates moves the state only as far as a 3-sigma
// one would; the likelihood charges clipped innovations linearly (Huber's loss), so a
// member that has lost the clock cannot look good by clipping everything.
//
// Measured in the clock lab (scripts/bench, seeds 1-3, a day each): see robust_filter.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace vmrefclock {

class HostErrorTracker {
  public:
    struct Estimate {
        double offset_ns = 0;  // x at the last sample's time
        double stddev_ns = 0;  // x's standard error, as the chosen model sees it
        double freq_ns_per_s = 0;
    };

    HostErrorTracker();
    void reset();
    // A sample: its time and offset (true offset + host error + read noise). Times must
    // increase; a sample not after the last one restarts the tracker from it.
    void update(int64_t time_ns, double offset_ns, double err_ns);
    // The most likely model's estimate of x, once enough samples have scored the bank.
    std::optional<Estimate> estimate() const;

  private:
    static constexpr int kStates = 4;
    struct Params {
        double q;          // frequency random walk, ns^2/s^3
        double qd;         // frequency drift random walk, ns^2/s^5
        double sigma_h;    // host error's standard deviation, ns
        size_t tau_index;  // its correlation time, in kHostTau
        double r;          // read noise variance, per squared error bound of the sample
    };
    struct Member {
        Params p;
        // x (ns, relative to ref_offset_ns_), f (ns/s), d (ns/s^2), h (ns)
        double s[kStates] = {};
        double cov[kStates][kStates] = {};
        double score = 0;  // forgetting negative log-likelihood
    };
    void init_member(Member& m, double y) const;
    static double step(Member& m, double dt_s, double phi, double y, double err2, bool clip);

    std::vector<Member> bank_;
    int64_t last_time_ns_ = 0;
    double ref_offset_ns_ = 0;  // offsets are kept relative to the first sample's
    int64_t updates_ = 0;
};

}  // namespace vmrefclock

#include "filter/host_error_tracker.h"

#include <cmath>
#include <iterator>
#include <limits>

namespace vmrefclock {

namespace {

// The grid the bank covers, a factor 2-4 apart: finer than that the likelihood cannot
// tell the members apart in a few hundred samples anyway.
constexpr double kFreqNoise[] = {1e-4, 1e-3, 1e-2, 1e-1};  // ns^2/s^3
constexpr double kDriftNoise[] = {0, 1e-6, 1e-5, 1e-4};    // ns^2/s^5
constexpr double kHostSigma[] = {3, 6, 12};                // ns, besides 0
constexpr double kHostTau[] = {2, 4, 8, 16};               // s
// Read noise variance as a fraction of the sample's squared error bound (half-delay):
// the noise of a read scales with its delay, whatever the source.
constexpr double kReadVar[] = {1.0 / 4096, 1.0 / 1024, 1.0 / 256, 1.0 / 64, 1.0 / 16};
// Diffuse priors: the first samples fix x and f, whatever the clock's state.
constexpr double kDiffuseOffsetVar = 1e12;  // (1 ms)^2
constexpr double kDiffuseFreqVar = 1e10;    // (100 ppm)^2 in (ns/s)^2
constexpr double kDiffuseDriftVar = 1.0;    // (1 ns/s^2 = 1 ppm/1000 s)^2
// The likelihood forgets with this constant (samples): long enough to tell members
// apart, short enough to follow a host that changes its behaviour.
constexpr double kForgetting = 1.0 / 512;
// The first innovations only fix the diffuse state: they say nothing about the model.
constexpr int64_t kUnscoredUpdates = 4;
constexpr int64_t kReadyUpdates = 32;
constexpr double kClip = 3.0;
// The score of a member restarted after absurd input: far behind (the others score
// ~1-30), catching up as the likelihood forgets.
constexpr double kBrokenScore = 1e6;
constexpr double kMaxGapS = 3600;

}  // namespace

HostErrorTracker::HostErrorTracker() {
    for (double q : kFreqNoise) {
        for (double qd : kDriftNoise) {
            for (double r : kReadVar) {
                bank_.push_back(Member{Params{q, qd, 0, 0, r}});
                for (double sigma : kHostSigma) {
                    for (size_t tau = 0; tau < std::size(kHostTau); ++tau) {
                        bank_.push_back(Member{Params{q, qd, sigma, tau, r}});
                    }
                }
            }
        }
    }
}

void HostErrorTracker::reset() {
    updates_ = 0;
}

void HostErrorTracker::init_member(Member& m, double y) const {
    for (auto& row : m.cov) {
        for (double& v : row) v = 0;
    }
    for (double& v : m.s) v = 0;
    m.s[0] = y;
    m.cov[0][0] = kDiffuseOffsetVar;
    m.cov[1][1] = kDiffuseFreqVar;
    m.cov[2][2] = kDiffuseDriftVar;
    m.cov[3][3] = m.p.sigma_h * m.p.sigma_h;
    m.score = 0;
}

// One predict (over dt_s; none when 0) and update with y. Returns the innovation's
// negative log-likelihood term.
double HostErrorTracker::step(Member& m, double dt_s, double phi, double y, double err2,
                              bool clip) {
    auto& P = m.cov;
    if (dt_s > 0) {
        // x' = x + f dt + d dt^2 / 2, f' = f + d dt, d' = d, h' = phi h; P = F P F'.
        const double a = dt_s, b = dt_s * dt_s / 2, t2 = dt_s * dt_s, t3 = t2 * dt_s;
        m.s[0] += a * m.s[1] + b * m.s[2];
        m.s[1] += a * m.s[2];
        m.s[3] *= phi;
        for (int j = 0; j < kStates; ++j) {
            P[0][j] += a * P[1][j] + b * P[2][j];
            P[1][j] += a * P[2][j];
            P[3][j] *= phi;
        }
        for (int i = 0; i < kStates; ++i) {
            P[i][0] += a * P[i][1] + b * P[i][2];
            P[i][1] += a * P[i][2];
            P[i][3] *= phi;
        }
        // White frequency noise (q) and white drift noise (qd), integrated.
        const double q = m.p.q, qd = m.p.qd, t4 = t3 * dt_s, t5 = t4 * dt_s;
        P[0][0] += q * t3 / 3 + qd * t5 / 20;
        P[0][1] += q * t2 / 2 + qd * t4 / 8;
        P[1][0] = P[0][1];
        P[1][1] += q * dt_s + qd * t3 / 3;
        P[0][2] += qd * t3 / 6;
        P[2][0] = P[0][2];
        P[1][2] += qd * t2 / 2;
        P[2][1] = P[1][2];
        P[2][2] += qd * dt_s;
        P[3][3] += m.p.sigma_h * m.p.sigma_h * (1 - phi * phi);
    }
    // y = x + h + v: H = [1, 0, 0, 1].
    double hp[kStates];
    for (int j = 0; j < kStates; ++j) hp[j] = P[0][j] + P[3][j];
    const double s = hp[0] + hp[3] + m.p.r * err2;
    const double nu_raw = y - (m.s[0] + m.s[3]);
    // While the diffuse prior is being replaced by data no innovation is an outlier: a
    // clipped one would lock in a wrong frequency with a small variance for good.
    const double lim = clip ? kClip * std::sqrt(s) : std::numeric_limits<double>::infinity();
    const double nu = std::fmax(-lim, std::fmin(lim, nu_raw));
    double k[kStates];
    for (int i = 0; i < kStates; ++i) k[i] = hp[i] / s;
    for (int i = 0; i < kStates; ++i) m.s[i] += k[i] * nu;
    for (int i = 0; i < kStates; ++i) {
        for (int j = i; j < kStates; ++j) {
            P[i][j] -= k[i] * hp[j];
            P[j][i] = P[i][j];
        }
    }
    // Huber's loss beyond the clip: linear, so that a member that lost the clock (and
    // clips everything) keeps paying for it.
    const double z = std::abs(nu_raw) / std::sqrt(s);
    return std::log(s) + (z <= kClip ? z * z : 2 * kClip * z - kClip * kClip);
}

void HostErrorTracker::update(int64_t time_ns, double offset_ns, double err_ns) {
    if (!std::isfinite(offset_ns) || !(err_ns > 0) || !std::isfinite(err_ns)) return;
    const double err2 = err_ns * err_ns;
    double dt_s = 0;
    if (updates_ > 0) {
        const auto d = static_cast<__int128>(time_ns) - last_time_ns_;
        dt_s = static_cast<double>(d) * 1e-9;
        if (!(dt_s > 0) || dt_s > kMaxGapS) updates_ = 0;
    }
    last_time_ns_ = time_ns;
    if (updates_ == 0) {
        ref_offset_ns_ = offset_ns;
        for (Member& m : bank_) init_member(m, 0.0);
    }
    const double y = offset_ns - ref_offset_ns_;
    const bool scored = updates_ >= kUnscoredUpdates;
    double phis[std::size(kHostTau)];
    for (size_t i = 0; i < std::size(kHostTau); ++i) phis[i] = std::exp(-dt_s / kHostTau[i]);
    if (updates_ == 0) dt_s = 0;
    for (Member& m : bank_) {
        const double phi = m.p.sigma_h > 0 ? phis[m.p.tau_index] : 0.0;
        const double term = step(m, dt_s, phi, y, err2, scored);
        if (!std::isfinite(term) || !std::isfinite(m.s[0]) || !std::isfinite(m.s[1])) {
            // Absurd input broke this member: start it again, last in the ranking.
            init_member(m, y);
            m.score = kBrokenScore;
            continue;
        }
        if (scored) m.score += kForgetting * (term - m.score);
    }
    ++updates_;
}

std::optional<HostErrorTracker::Estimate> HostErrorTracker::estimate() const {
    if (updates_ < kReadyUpdates) return std::nullopt;
    const Member* best = nullptr;
    for (const Member& m : bank_) {
        if (std::isfinite(m.score) && (best == nullptr || m.score < best->score)) best = &m;
    }
    if (best == nullptr) return std::nullopt;
    Estimate e;
    e.offset_ns = ref_offset_ns_ + best->s[0];
    e.stddev_ns = std::sqrt(std::fmax(best->cov[0][0], 0.0));
    e.freq_ns_per_s = best->s[1];
    if (!std::isfinite(e.offset_ns) || !std::isfinite(e.stddev_ns)) return std::nullopt;
    return e;
}

}  // namespace vmrefclock

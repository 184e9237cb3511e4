// StepGuard: what follows a step of the host's clock that no disruption marker announced.
//
// Such a step is a disruption like a marker change (calibration discarded, chrony reset,
// hold-off), but the new clock is not followed after one chrony poll: it is first held on
// probation. A host that means it (a KVM master-clock update, a host NTP step) keeps its
// clock where it stepped to; a page that lies for a while (a buggy or hostile writer, a
// counter_value off by 2^40) comes back. Each poll during probation:
//   - back on the pre-step model: a transient. Nothing of it reached chrony, so feeding
//     resumes at once, with no second disruption;
//   - where it stepped to for `probation`: followed from then on;
//   - anywhere else: it moved again, and the probation restarts from there.
// A marker change, a suspend or an operator's reset ends the probation (the caller
// clears it): the host, the guest or the operator has explained the change.
//
// GuestStepWatch tells a step of the guest's own clock (chrony's makestep, an operator, a
// leap second) from the host's: only a step moves CLOCK_REALTIME - CLOCK_MONOTONIC
// (slewing moves both). The offsets then jump by the guest's step, which is no disruption.
//
// Pure: the caller passes the clocks it read.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "filter/types.h"

namespace vmrefclock {

// A batch's offset: the median reading's.
struct BatchOffset {
    int64_t time_ns = 0;  // system time of that reading
    double offset_ns = 0;
};
// `scratch` is reused from call to call, so a caller that keeps it allocates nothing.
std::optional<BatchOffset> batch_offset(const Batch& batch, std::vector<BatchOffset>& scratch);

struct StepGuardOptions {
    int64_t probation_ns = 30'000'000'000;
    // How close to a model a batch must be to be on it: tolerance_ns plus tolerance_ppm
    // of the time since the model's sample (a rate change as large as the host-rate gate
    // lets through), and for the pre-step model at most half the step.
    double tolerance_ns = 1'000'000;
    double tolerance_ppm = 1000;
};

class StepGuard {
  public:
    enum class Verdict { idle, hold, moved, reverted, accepted };
    struct Observation {
        Verdict verdict = Verdict::idle;
        double residual_ns = 0;  // from the model it was judged against
    };

    explicit StepGuard(StepGuardOptions options = {}) : options_(options) {}

    // A step disruption: `reference` is the last trusted model before it (nullopt: none,
    // then only the probation applies), `stepped` where the clock is now.
    void start(const std::optional<Estimate>& reference, const BatchOffset& stepped,
               int64_t now_mono_ns);
    // Ends the probation itself on reverted and accepted.
    Observation observe(const BatchOffset& now, int64_t now_mono_ns);
    void clear();
    // The guest's clock stepped: every offset moved by `offset_ns`.
    void shift(double offset_ns);

    bool active() const { return candidate_.has_value(); }
    // The step from the pre-step model (0 without one).
    double step_ns() const { return step_ns_; }
    const StepGuardOptions& options() const { return options_; }

  private:
    double predict(const Estimate& model, int64_t time_ns) const;
    double tolerance(int64_t since_ns, int64_t time_ns) const;

    StepGuardOptions options_;
    std::optional<Estimate> reference_;
    std::optional<Estimate> candidate_;  // the stepped clock, with the reference's frequency
    double step_ns_ = 0;
    int64_t since_mono_ns_ = 0;
};

class GuestStepWatch {
  public:
    explicit GuestStepWatch(int64_t threshold_ns = 1'000'000) : threshold_ns_(threshold_ns) {}
    // CLOCK_REALTIME read between two CLOCK_MONOTONIC reads: the guest's step since the
    // last call (CLOCK_REALTIME moved by that much against CLOCK_MONOTONIC) when it is
    // beyond the threshold even at the ends of both brackets, so a preemption between
    // the reads widens the bracket instead of faking a step. The first call sets the
    // baseline.
    std::optional<int64_t> observe(int64_t monotonic_before_ns, int64_t realtime_ns,
                                   int64_t monotonic_after_ns);

  private:
    int64_t threshold_ns_;
    // REALTIME - MONOTONIC lies in [lo, hi] at the last call.
    std::optional<std::pair<int64_t, int64_t>> difference_ns_;
};

}  // namespace vmrefclock

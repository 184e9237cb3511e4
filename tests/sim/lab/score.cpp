#include "tests/sim/lab/score.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "tests/sim/lab/baselines.h"
#include "tests/sim/lab/trace.h"

namespace vmrefclock::lab {

std::vector<Method> standard_methods(const std::string& ours) {
    std::vector<Method> m;
    m.push_back({"phc2sys", std::make_unique<Phc2sysFilter>()});
    m.push_back({"chrony", std::make_unique<ChronyStyleFilter>(4)});
    auto f = make_sample_filter(ours);
    if (!f) throw std::invalid_argument(f.error().message);
    m.push_back({"ours", std::move(*f)});
    return m;
}

namespace {

int recovery_after(const std::vector<float>& err, size_t event, double tol) {
    const size_t n = err.size();
    for (size_t p = event; p < n && p < event + kRecoveryLimit; ++p) {
        if (std::isnan(err[p]) || std::abs(err[p]) > tol) continue;
        bool held = true;
        for (size_t q = p; q < n && q < p + kRecoveryHold; ++q) {
            if (!std::isnan(err[q]) && std::abs(err[q]) > tol) held = false;
        }
        if (held) return static_cast<int>(p - event + 1);
    }
    return kRecoveryLimit + 1;
}

}  // namespace

std::vector<MethodScore> run_scenario(const ScenarioConfig& config, uint64_t seed, int64_t polls,
                                      std::vector<Method>& methods) {
    TraceGenerator gen(config, seed);
    std::vector<MethodScore> scores(methods.size());
    std::vector<std::vector<float>> errors(methods.size());
    std::vector<double> sum_sq(methods.size(), 0.0);
    for (size_t m = 0; m < methods.size(); ++m) {
        scores[m].name = methods[m].name;
        errors[m].assign(static_cast<size_t>(std::max<int64_t>(polls, 0)),
                         std::numeric_limits<float>::quiet_NaN());
    }
    std::vector<size_t> events;
    std::optional<uint64_t> marker;

    for (int64_t p = 0; p < polls; ++p) {
        const Batch& batch = gen.next();
        if (gen.event() != EventKind::none) events.push_back(static_cast<size_t>(p));
        const bool disrupted = batch.host && marker && batch.host->disruption_marker != *marker;
        if (batch.host) marker = batch.host->disruption_marker;
        for (size_t m = 0; m < methods.size(); ++m) {
            if (disrupted) methods[m].filter->reset();
            Result<Sample> s = methods[m].filter->process(batch);
            MethodScore& sc = scores[m];
            ++sc.polls;
            if (!s) continue;
            if (!std::isfinite(s->offset_ns)) {
                ++sc.not_finite;
                continue;
            }
            ++sc.sent;
            const double e = s->offset_ns - gen.truth(s->time_ns);
            errors[m][static_cast<size_t>(p)] = static_cast<float>(e);
            sum_sq[m] += e * e;
            sc.max_ns = std::max(sc.max_ns, std::abs(e));
            if (std::abs(e) > static_cast<double>(s->error_ns)) ++sc.outside_bound;
        }
    }
    for (size_t m = 0; m < methods.size(); ++m) {
        MethodScore& sc = scores[m];
        if (sc.sent > 0) sc.rms_ns = std::sqrt(sum_sq[m] / static_cast<double>(sc.sent));
        sc.events = static_cast<int>(events.size());
        for (size_t ev : events) {
            sc.recovery_polls = std::max(
                sc.recovery_polls, recovery_after(errors[m], ev, config.recovery_tolerance_ns));
        }
    }
    return scores;
}

}  // namespace vmrefclock::lab

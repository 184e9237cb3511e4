#include "tests/sim/lab/score.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "tests/sim/lab/baselines.h"
#include "tests/sim/lab/basic_filter.h"

namespace vmrefclock::lab {

std::vector<Method> standard_methods(const std::string& ours) {
    std::vector<Method> m;
    m.push_back({"phc2sys", std::make_unique<Phc2sysFilter>(), false});
    m.push_back({"chrony", std::make_unique<ChronyStyleFilter>(4), false});
    auto f = make_sample_filter(ours);
    if (!f) throw std::invalid_argument(f.error().message);
    m.push_back({"ours", std::move(*f), ours == "robust"});
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

double quantile(std::vector<float>& v, double q) {
    if (v.empty()) return 0.0;
    const auto i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
    return v[i];
}

// What chrony's refclock_sock.c makes of the datagram: the offset it reads at system
// time tv (it takes tv + offset as the reference at tv).
struct Received {
    int64_t tv_ns;
    double offset_ns;
};
Received decode(const SockSample& d) {
    return {static_cast<int64_t>(d.tv.tv_sec) * 1'000'000'000 +
                static_cast<int64_t>(d.tv.tv_usec) * 1'000,
            d.offset * 1e9};
}

}  // namespace

std::vector<MethodScore> run_stream(BatchStream& stream, int64_t polls,
                                    std::vector<Method>& methods, const ScoreOptions& options) {
    std::vector<MethodScore> scores(methods.size());
    std::vector<std::vector<float>> errors(methods.size());
    std::vector<std::vector<float>> bounds(methods.size());
    std::vector<std::vector<float>> host_terms(methods.size());
    std::vector<double> sum_sq(methods.size(), 0.0);
    for (size_t m = 0; m < methods.size(); ++m) scores[m].name = methods[m].name;
    std::vector<size_t> events;
    std::optional<uint64_t> marker;

    for (int64_t p = 0; p < polls; ++p) {
        const Batch* batch = stream.next();
        if (batch == nullptr) break;
        const bool disrupted = batch->host && marker && batch->host->disruption_marker != *marker;
        if (stream.event() != EventKind::none || disrupted)
            events.push_back(static_cast<size_t>(p));
        if (batch->host) marker = batch->host->disruption_marker;
        double host_term = 0;
        if (batch->host && batch->host->time_maxerror_ns) {
            host_term = static_cast<double>(*batch->host->time_maxerror_ns);
        }
        for (size_t m = 0; m < methods.size(); ++m) {
            errors[m].push_back(std::numeric_limits<float>::quiet_NaN());
            if (disrupted) methods[m].filter->reset();
            Result<Sample> s = methods[m].filter->process(*batch);
            MethodScore& sc = scores[m];
            ++sc.polls;
            if (!s) continue;
            if (!std::isfinite(s->offset_ns)) {
                ++sc.not_finite;
                continue;
            }
            ++sc.sent;
            const double host = methods[m].bound_includes_host ? host_term : 0.0;
            bounds[m].push_back(static_cast<float>(static_cast<double>(s->error_ns) - host));
            host_terms[m].push_back(static_cast<float>(host));
            const Received r = decode(options.encode(*s));
            const std::optional<double> truth = stream.truth(r.tv_ns);
            if (!truth) continue;
            ++sc.scored;
            const double e = r.offset_ns - *truth;
            errors[m].back() = static_cast<float>(e);
            sum_sq[m] += e * e;
            sc.max_ns = std::max(sc.max_ns, std::abs(e));
            if (std::abs(e) > static_cast<double>(s->error_ns)) ++sc.outside_bound;
        }
    }
    for (size_t m = 0; m < methods.size(); ++m) {
        MethodScore& sc = scores[m];
        if (sc.scored > 0) sc.rms_ns = std::sqrt(sum_sq[m] / static_cast<double>(sc.scored));
        sc.bound_median_ns = quantile(bounds[m], 0.5);
        sc.bound_p99_ns = quantile(bounds[m], 0.99);
        sc.host_maxerror_ns = quantile(host_terms[m], 0.5);
        sc.events = static_cast<int>(events.size());
        for (size_t ev : events) {
            sc.recovery_polls = std::max(
                sc.recovery_polls, recovery_after(errors[m], ev, options.recovery_tolerance_ns));
        }
    }
    return scores;
}

std::vector<MethodScore> run_scenario(const ScenarioConfig& config, uint64_t seed, int64_t polls,
                                      std::vector<Method>& methods, const ScoreOptions& options) {
    GeneratedStream stream(config, seed);
    ScoreOptions o = options;
    o.recovery_tolerance_ns = config.recovery_tolerance_ns;
    return run_stream(stream, polls, methods, o);
}

}  // namespace vmrefclock::lab

// vmrefclock-bench: the clock lab table. Every scenario, every method, one trace each,
// scored against the truth. Options: --polls N (default a day of 1 Hz polls),
// --seed S, --filter NAME (our method, default "robust").
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/sim/lab/scenario.h"
#include "tests/sim/lab/score.h"

using namespace vmrefclock::lab;

int main(int argc, char** argv) {
    int64_t polls = 86'400;
    uint64_t seed = 1;
    std::string ours = "robust";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--polls") {
            polls = std::strtoll(argv[i + 1], nullptr, 10);
        } else if (a == "--seed") {
            seed = std::strtoull(argv[i + 1], nullptr, 10);
        } else if (a == "--filter") {
            ours = argv[i + 1];
        } else {
            std::fprintf(stderr, "usage: %s [--polls N] [--seed S] [--filter NAME]\n", argv[0]);
            return 2;
        }
    }
    std::printf("clock lab: %lld polls at 1 Hz per scenario, seed %llu, ours = \"%s\"\n",
                static_cast<long long>(polls), static_cast<unsigned long long>(seed), ours.c_str());
    std::printf(
        "error = sent offset - true offset at the sample's time. chrony sends one median-filtered\n"
        "sample per 4-poll chrony poll. recover = polls from an event (its poll = 1) until the\n"
        "samples stay within 1 us for %d polls, worst event. out_of_bound = sent samples whose\n"
        "|error| exceeds their own error_ns (baselines: half-delay/dispersion, no host error).\n\n",
        kRecoveryHold);
    std::printf("%-18s %-8s %8s %11s %12s %8s %8s %12s\n", "scenario", "method", "sent", "rms_ns",
                "max_ns", "events", "recover", "out_of_bound");
    for (const ScenarioConfig& sc : standard_scenarios()) {
        std::vector<Method> methods = standard_methods(ours);
        const std::vector<MethodScore> scores = run_scenario(sc, seed, polls, methods);
        for (const MethodScore& m : scores) {
            char rec[32] = "-";
            if (m.recovery_polls > kRecoveryLimit) {
                std::snprintf(rec, sizeof rec, "never");
            } else if (m.recovery_polls >= 0) {
                std::snprintf(rec, sizeof rec, "%d", m.recovery_polls);
            }
            std::printf("%-18s %-8s %8lld %11.1f %12.1f %8d %8s %11.4f%%\n", sc.name.c_str(),
                        m.name.c_str(), static_cast<long long>(m.sent), m.rms_ns, m.max_ns,
                        m.events, rec, 100.0 * m.outside_bound_fraction());
        }
    }
    return 0;
}

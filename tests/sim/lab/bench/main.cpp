// vmrefclock-bench: the clock lab table. Every scenario, every method, one trace each,
// scored against the truth as chrony receives it (after the SOCK encoding).
// Options:
//   --polls N            polls per scenario (default a day of 1 Hz polls)
//   --seed S             the generator's seed (default 1)
//   --filter NAME        our method (default "robust")
//   --scenario NAME      only this scenario
//   --trace FILE         replay a trace file (filter/batch_trace.h) instead of the scenarios
//   --write-trace FILE   write the scenario (--scenario, --polls, --seed) as a trace file
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "tests/sim/lab/replay.h"
#include "tests/sim/lab/scenario.h"
#include "tests/sim/lab/score.h"

using namespace vmrefclock::lab;

namespace {

void print_header() {
    std::printf("%-18s %-8s %8s %9s %9s %7s %8s %10s %10s %9s %10s\n", "scenario", "method", "sent",
                "rms_ns", "max_ns", "events", "recover", "bound_med", "bound_p99", "+host_ns",
                "in_bound");
}

void print_rows(const std::string& name, const std::vector<MethodScore>& scores) {
    for (const MethodScore& m : scores) {
        char rec[32] = "-";
        if (m.recovery_polls > kRecoveryLimit) {
            std::snprintf(rec, sizeof rec, "never");
        } else if (m.recovery_polls >= 0) {
            std::snprintf(rec, sizeof rec, "%d", m.recovery_polls);
        }
        char rms[32] = "n/a", max[32] = "n/a", cover[32] = "n/a";
        if (m.scored > 0) {
            std::snprintf(rms, sizeof rms, "%.1f", m.rms_ns);
            std::snprintf(max, sizeof max, "%.1f", m.max_ns);
            std::snprintf(cover, sizeof cover, "%.3f%%", 100.0 * m.coverage());
        }
        std::printf("%-18s %-8s %8lld %9s %9s %7d %8s %10.1f %10.1f %9.0f %10s\n", name.c_str(),
                    m.name.c_str(), static_cast<long long>(m.sent), rms, max, m.events, rec,
                    m.bound_median_ns, m.bound_p99_ns, m.host_maxerror_ns, cover);
    }
}

}  // namespace

int main(int argc, char** argv) {
    int64_t polls = 86'400;
    uint64_t seed = 1;
    std::string ours = "robust";
    std::string only;
    std::string trace;
    std::string write_trace;
    for (int i = 1; i < argc; i += 2) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (v && a == "--polls") {
            polls = std::strtoll(v, nullptr, 10);
        } else if (v && a == "--seed") {
            seed = std::strtoull(v, nullptr, 10);
        } else if (v && a == "--filter") {
            ours = v;
        } else if (v && a == "--scenario") {
            only = v;
        } else if (v && a == "--trace") {
            trace = v;
        } else if (v && a == "--write-trace") {
            write_trace = v;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--polls N] [--seed S] [--filter NAME] [--scenario NAME]\n"
                         "       [--trace FILE | --write-trace FILE]\n",
                         argv[0]);
            return 2;
        }
    }
    try {
        if (!write_trace.empty()) {
            if (only.empty()) {
                std::fprintf(stderr, "--write-trace needs --scenario NAME\n");
                return 2;
            }
            auto written = write_trace_file(scenario_by_name(only), seed, polls, write_trace);
            if (!written) {
                std::fprintf(stderr, "%s\n", written.error().message.c_str());
                return 1;
            }
            std::printf("wrote %lld polls of %s (seed %llu) to %s\n", static_cast<long long>(polls),
                        only.c_str(), static_cast<unsigned long long>(seed), write_trace.c_str());
            return 0;
        }
        if (!trace.empty()) {
            std::printf("clock lab: trace %s (at most %lld polls), ours = \"%s\"\n", trace.c_str(),
                        static_cast<long long>(polls), ours.c_str());
        } else {
            std::printf("clock lab: %lld polls at 1 Hz per scenario, seed %llu, ours = \"%s\"\n",
                        static_cast<long long>(polls), static_cast<unsigned long long>(seed),
                        ours.c_str());
        }
        std::printf(
            "error = what chrony receives (to_sock_sample, decoded as chrony does) - truth at tv.\n"
            "chrony sends one median-filtered sample per 4-poll chrony poll. recover = polls from\n"
            "an event (its poll = 1) until the samples stay within 1 us for %d polls, worst "
            "event.\n"
            "bound_med/p99 = the sent error bound without the host's time_maxerror, which is\n"
            "+host_ns (ours adds it; the baselines' bounds are half-delay/dispersion only).\n"
            "in_bound = sent samples whose |error| is within their whole error bound.\n\n",
            kRecoveryHold);
        print_header();
        if (!trace.empty()) {
            TraceFileStream stream(trace);
            std::vector<Method> methods = standard_methods(ours);
            const std::vector<MethodScore> scores = run_stream(stream, polls, methods);
            if (!stream.error().empty()) {
                std::fprintf(stderr, "%s\n", stream.error().c_str());
                return 1;
            }
            print_rows("trace", scores);
            if (!scores.empty() && scores.back().scored == 0) {
                std::printf("\n(no true_offset_ns in the trace: errors cannot be scored)\n");
            }
            return 0;
        }
        for (const ScenarioConfig& sc : standard_scenarios()) {
            if (!only.empty() && sc.name != only) continue;
            std::vector<Method> methods = standard_methods(ours);
            print_rows(sc.name, run_scenario(sc, seed, polls, methods));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    return 0;
}

// vmclock-sim: a simulated hypervisor publishing a vmclock page (see ARCHITECTURE.md, vmclock).
// One thread, one loop: sleep until the next update, scenario event or deadline, or until a
// signal arrives on the signalfd; then act. A test tool: simple beats clever.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "tests/sim/vmclock_sim/host.hpp"
#include "tests/sim/vmclock_sim/options.hpp"
#include "tests/sim/vmclock_sim/scenario.hpp"

namespace vmrefclock::sim {
namespace {

double mono_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int run(const Options& opts, std::vector<Event> scenario) {
    // Blocked before anything else so no signal can slip past the signalfd.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        std::fprintf(stderr, "vmclock-sim: signalfd: %s\n", std::strerror(errno));
        return 1;
    }

    Host host(opts);
    const double start = mono_s();  // t = 0: the page exists from here on
    std::printf(
        "vmclock-sim: start page=%s counter_id=%u tsc_hz=%.3Lf time_type=%s offset=%+.9f s "
        "freq_ppm=%+.3f update_interval=%.3f s marker=0x%016llx events=%zu pid=%d\n",
        opts.page.c_str(), opts.marker_only ? 0xffu : native_counter_id(), host.counter_hz(),
        opts.time_type == 1 ? "tai" : "utc", opts.offset_s, opts.freq_ppm, opts.update_interval_s,
        static_cast<unsigned long long>(host.marker()), scenario.size(),
        static_cast<int>(getpid()));
    std::fflush(stdout);

    std::size_t next_event = 0;
    double next_update = start + opts.update_interval_s;
    const double end = opts.duration_s > 0 ? start + opts.duration_s : INFINITY;
    for (;;) {
        double now = mono_s();
        if (now >= end) break;
        double deadline = std::min(next_update, end);
        if (next_event < scenario.size())
            deadline = std::min(deadline, start + scenario[next_event].at_s);
        if (deadline > now) {
            double wait = deadline - now;
            timespec ts{static_cast<time_t>(wait),
                        static_cast<long>((wait - std::floor(wait)) * 1e9)};
            pollfd pfd{sfd, POLLIN, 0};
            if (ppoll(&pfd, 1, &ts, nullptr) < 0 && errno != EINTR) {
                std::fprintf(stderr, "vmclock-sim: ppoll: %s\n", std::strerror(errno));
                return 1;
            }
        }

        std::vector<Event> due;
        signalfd_siginfo si{};
        while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            if (si.ssi_signo == SIGUSR1) {
                Event e;
                e.type = EventType::Disruption;
                e.step_s = opts.disrupt_step_s;
                e.from_signal = true;
                due.push_back(e);
            } else {
                std::printf("vmclock-sim: t=%.1f s exit on %s\n", mono_s() - start,
                            si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
                std::fflush(stdout);
                close(sfd);
                return 0;
            }
        }
        now = mono_s();
        while (next_event < scenario.size() && start + scenario[next_event].at_s <= now)
            due.push_back(scenario[next_event++]);
        bool periodic = now >= next_update;
        if (periodic) {
            next_update += opts.update_interval_s;
            // After a long stall (suspended, debugger) resume the cadence instead of bursting.
            if (next_update < now) next_update = now + opts.update_interval_s;
        }
        if (periodic || !due.empty()) host.update(due.data(), due.size(), now - start);
    }
    std::printf("vmclock-sim: t=%.1f s exit after --duration\n", mono_s() - start);
    std::fflush(stdout);
    close(sfd);
    return 0;
}

}  // namespace
}  // namespace vmrefclock::sim

int main(int argc, char** argv) {
    using namespace vmrefclock::sim;
    Options opts;
    std::vector<Event> scenario;
    try {
        auto parsed = parse_options(argc, argv);
        if (!parsed) return 0;
        opts = *parsed;
        if (!opts.scenario.empty()) scenario = load_scenario(opts.scenario);
    } catch (const std::exception& e) {  // UsageError, ScenarioError
        std::fprintf(stderr, "vmclock-sim: %s\n", e.what());
        return 2;
    }
    try {
        return run(opts, std::move(scenario));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vmclock-sim: %s\n", e.what());
        return 1;
    }
}

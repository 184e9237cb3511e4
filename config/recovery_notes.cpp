#include "config/recovery_notes.h"

#include <cmath>
#include <cstdio>

namespace vmrefclock {

namespace {
std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", s);
    return buf;
}
}  // namespace

std::vector<std::string> recovery_notes(const Config& config) {
    std::vector<std::string> notes;
    const double poll_s = std::ldexp(1.0, config.chrony.poll);
    const std::string goal = seconds(3 * poll_s) + " (3 refclock polls)";
    if (config.chrony.control_socket.empty()) {
        notes.push_back(
            "[chrony] control_socket = \"\": chrony is never reset after a disruption and "
            "mixes the old clock with the new: measured 26-27 s to within 1 us, overshooting "
            "the new time by 0.6-1.4 ms (chrony 4.3 at 0.5 s, 4.8 at 1 s), instead of at most " +
            goal);
    }
    // With a PHC and no vmclock page the step detector confirms a step over two polls
    // before the reset; a page is read every 100 ms instead.
    if (config.source.type == SourceKind::ptp && config.disruption.vmclock.empty() &&
        config.disruption.step) {
        notes.push_back(
            "[source] type = \"ptp\" with [disruption] vmclock = \"\": a disruption is found "
            "in the data, confirmed by the next poll, so it is noticed up to 2 x interval = " +
            seconds(2 * config.source.interval_s) + " late: recovery up to " +
            seconds(3 * poll_s + 2 * config.source.interval_s) + " (computed, not measured)");
    }
    // chrony before 4.7 drops refclock polls with fewer than 4 samples; during recovery
    // the daemon samples 8 times per poll whatever the interval, but not afterwards.
    if (config.source.interval_s > poll_s / 4) {
        notes.push_back("[source] interval = " + seconds(config.source.interval_s) +
                        " gives fewer than 4 samples per " + seconds(poll_s) +
                        " refclock poll: chrony before 4.7 counts such polls as unreachable "
                        "once recovered (recovery itself is sampled 8 times per poll)");
    }
    return notes;
}

}  // namespace vmrefclock

// The views of a StatusSnapshot: text for a terminal (hand-made rows for the fields
// that share a line, then the rows the field tables declare) and Prometheus (all from
// the field tables). Pure functions of the snapshot.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "ipc/status/status.h"
#include "ipc/status/status_views.h"

namespace vmrefclock {

namespace {

std::string printf_string(const char* fmt, double value, const char* unit) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, value, unit);
    return buf;
}

// 3-4 significant digits in the largest unit the value reaches.
std::string scaled(double magnitude_ns) {
    struct Unit {
        double ns;
        const char* name;
    };
    static const Unit units[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}};
    for (const Unit& u : units) {
        if (magnitude_ns >= u.ns) {
            double v = magnitude_ns / u.ns;
            const char* fmt = v >= 100 ? "%.1f %s" : v >= 10 ? "%.2f %s" : "%.3f %s";
            return printf_string(fmt, v, u.name);
        }
    }
    return printf_string("%.0f %s", magnitude_ns, "ns");
}

}  // namespace

std::string format_uptime(const double& seconds) {
    auto total = static_cast<long long>(seconds);
    long long d = total / 86400, h = total / 3600 % 24, m = total / 60 % 60, s = total % 60;
    char buf[64];
    if (d > 0) {
        std::snprintf(buf, sizeof buf, "%lldd %lldh %lldm", d, h, m);
    } else if (h > 0) {
        std::snprintf(buf, sizeof buf, "%lldh %lldm %llds", h, m, s);
    } else {
        std::snprintf(buf, sizeof buf, "%lldm %llds", m, s);
    }
    return buf;
}

std::string format_duration(double ns) {
    return scaled(std::fabs(ns));
}

std::string format_offset(double ns) {
    // Appended, not `"literal" + std::string`: GCC 12 at -O2 raises a false -Wrestrict
    // on that (GCC bug 105651).
    std::string out(1, ns < 0 ? '-' : '+');
    return out.append(scaled(std::fabs(ns)));
}

std::string render_text(const StatusSnapshot& s) {
    std::ostringstream out;
    auto row = [&out](std::string label, const std::string& value) {
        // Values line up at column 14; a longer label (a sink's name) still gets a space.
        label.resize(std::max<size_t>(label.size() + 1, 14), ' ');
        out << label << value << '\n';
    };
    row("state:", std::string(to_string(s.state)) + (s.reason.empty() ? "" : " - " + s.reason));
    std::string source = s.source.type.empty() ? "none" : s.source.type + " " + s.source.path;
    if (!s.source.method.empty()) source += " (" + s.source.method + ")";
    row("source:", source);
    if (s.offset_ns) {
        std::string offset = format_offset(*s.offset_ns);
        if (s.error_bound_ns) offset += ", error bound " + format_duration(*s.error_bound_ns);
        if (s.stddev_ns) offset += ", stddev " + format_duration(*s.stddev_ns);
        row("offset:", offset + "  (reference - system)");
    } else {
        row("offset:", "no estimate yet");
    }
    if (s.frequency_ppm) row("frequency:", status_views::text_value(*s.frequency_ppm, Unit::ppm));
    if (s.delay_ns) row("delay:", format_duration(static_cast<double>(*s.delay_ns)));
    std::string samples = std::to_string(s.samples_in_window) + " in window";
    if (s.last_sample_age_s)
        samples += ", last " + format_duration(*s.last_sample_age_s * 1e9) + " ago";
    row("samples:", samples);
    row("polls:", std::to_string(s.polls) + " (sent " + std::to_string(s.samples_sent) +
                      ", rejected " + std::to_string(s.samples_rejected) + ")");
    std::string disruptions = std::to_string(s.disruptions.count);
    if (s.disruptions.last_time_ns) {
        disruptions += ", last " + format_utc(*s.disruptions.last_time_ns);
    }
    if (s.disruptions.last_cause) disruptions += " (" + *s.disruptions.last_cause + ")";
    row("disruptions:", disruptions);
    if (s.host) {
        const HostStatus& h = *s.host;
        std::string host = h.clock_status + ", maintenance " + h.maintenance + ", leap " + h.leap;
        if (h.time_maxerror_ns) {
            host += ", max error " + format_duration(static_cast<double>(*h.time_maxerror_ns));
        }
        row("host:", host);
        std::string marker = std::to_string(h.disruption_marker);
        if (h.vm_generation) marker += ", vm generation " + std::to_string(*h.vm_generation);
        row("host marker:", marker);
    }
    std::string chrony =
        (s.chrony.connected ? "connected to " : "not connected to ") + s.chrony.socket;
    if (s.chrony.last_error) chrony += " (last error: " + *s.chrony.last_error + ")";
    row("chrony:", chrony);
    status_views::text_rows(s, row);
    if (!s.not_reported.empty()) {
        std::string missing;
        for (const std::string& path : s.not_reported) {
            if (!missing.empty()) missing += ", ";
            missing += path;
        }
        row("not reported:", missing + " (an older vmrefclockd?)");
    }
    return out.str();
}

std::string render_prometheus(const StatusSnapshot& s) {
    return status_views::prometheus_metrics(s);
}

std::string render_samples_text(const std::vector<SampleRecord>& samples) {
    std::ostringstream out;
    out << "time (UTC)                offset         delay      error      sent\n";
    for (const SampleRecord& r : samples) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "%-24s  %-13s  %-9s  %-9s  %s\n",
                      format_utc(r.time_ns).c_str(), format_offset(r.offset_ns).c_str(),
                      format_duration(static_cast<double>(r.delay_ns)).c_str(),
                      format_duration(static_cast<double>(r.error_ns)).c_str(),
                      r.sent ? "yes" : "no");
        out << buf;
    }
    return out.str();
}

}  // namespace vmrefclock

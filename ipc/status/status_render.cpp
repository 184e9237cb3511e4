// Renderers of a StatusSnapshot: text for a terminal, Prometheus text exposition
// format 0.0.4 for monitoring. Pure functions of the snapshot.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "ipc/status/status.h"

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

std::string uptime_text(double seconds) {
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

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
std::string label_value(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

// Go's %g-like shortest form is not needed; %.17g round-trips every double.
std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

class Exposition {
  public:
    // HELP and TYPE once per family, then its samples.
    void family(const char* name, const char* type, const char* help) {
        out_ << "# HELP vmrefclock_" << name << ' ' << help << '\n';
        out_ << "# TYPE vmrefclock_" << name << ' ' << type << '\n';
    }
    void sample(const char* name, double value, const std::string& labels = {}) {
        out_ << "vmrefclock_" << name;
        if (!labels.empty()) out_ << '{' << labels << '}';
        out_ << ' ' << number(value) << '\n';
    }
    void gauge(const char* name, const char* help, std::optional<double> value) {
        // An unknown value is left out rather than exported as a misleading 0.
        if (!value) return;
        family(name, "gauge", help);
        sample(name, *value);
    }
    void counter(const char* name, const char* help, uint64_t value) {
        family(name, "counter", help);
        sample(name, static_cast<double>(value));
    }
    std::string str() const { return out_.str(); }

  private:
    std::ostringstream out_;
};

std::optional<double> seconds(std::optional<double> ns) {
    if (!ns) return std::nullopt;
    return *ns / 1e9;
}

}  // namespace

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
    auto row = [&out](const char* label, const std::string& value) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "%-14s", label);
        out << buf << value << '\n';
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
    if (s.frequency_ppm) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%+.3f ppm", *s.frequency_ppm);
        row("frequency:", buf);
    }
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
    row("uptime:", uptime_text(s.uptime_s));
    row("version:", s.version);
    return out.str();
}

std::string render_prometheus(const StatusSnapshot& s) {
    Exposition e;
    e.family("state", "gauge", "Daemon state: 1 for the current state, 0 for the others.");
    for (DaemonState state : all_daemon_states()) {
        e.sample("state", state == s.state ? 1 : 0,
                 "state=\"" + std::string(to_string(state)) + "\"");
    }
    e.gauge("offset_seconds", "Estimated offset, reference minus system clock.",
            seconds(s.offset_ns));
    e.gauge("frequency_ppm", "Estimated frequency of the reference relative to the system clock.",
            s.frequency_ppm);
    e.gauge("stddev_seconds", "Residual standard deviation of the estimator's fit.",
            seconds(s.stddev_ns));
    e.gauge("error_bound_seconds", "Bound on the error of the estimated offset.",
            seconds(s.error_bound_ns));
    e.gauge(
        "delay_seconds", "Read delay of the last sample.",
        s.delay_ns ? std::optional<double>(static_cast<double>(*s.delay_ns) / 1e9) : std::nullopt);
    e.gauge("samples_in_window", "Samples in the estimator's window.", s.samples_in_window);
    e.gauge("last_sample_age_seconds", "Time since the last sample.", s.last_sample_age_s);
    e.counter("polls_total", "Polls of the source.", s.polls);
    e.counter("samples_sent_total", "Samples sent to chrony.", s.samples_sent);
    e.counter("samples_rejected_total", "Samples not sent to chrony.", s.samples_rejected);
    e.counter("disruptions_total", "Clock disruptions seen (migration, snapshot restore, step).",
              s.disruptions.count);
    if (s.disruptions.last_time_ns) {
        e.gauge("last_disruption_timestamp_seconds", "Time of the last disruption (Unix time).",
                static_cast<double>(*s.disruptions.last_time_ns) / 1e9);
    }
    if (s.host) {
        const HostStatus& h = *s.host;
        e.family("host_clock_status", "gauge", "Host clock status: 1 for the reported status.");
        for (const char* status :
             {"unknown", "initializing", "synchronized", "freerunning", "unreliable"}) {
            e.sample("host_clock_status", h.clock_status == status ? 1 : 0,
                     std::string("status=\"") + status + "\"");
        }
        e.family("host_maintenance", "gauge", "Announced host maintenance: 1 for the current one.");
        for (const char* level : {"none", "soon", "imminent"}) {
            e.sample("host_maintenance", h.maintenance == level ? 1 : 0,
                     std::string("level=\"") + level + "\"");
        }
        e.gauge("host_time_maxerror_seconds", "Host's maximum error of its clock.",
                h.time_maxerror_ns
                    ? std::optional<double>(static_cast<double>(*h.time_maxerror_ns) / 1e9)
                    : std::nullopt);
        e.gauge("host_disruption_marker", "Host's disruption marker (changes on migration).",
                static_cast<double>(h.disruption_marker));
        if (h.vm_generation) {
            e.gauge("host_vm_generation", "VM generation counter (changes on snapshot restore).",
                    static_cast<double>(*h.vm_generation));
        }
    }
    e.gauge("chrony_connected", "1 when connected to chronyd's SOCK refclock socket.",
            s.chrony.connected ? 1 : 0);
    e.gauge("uptime_seconds", "Seconds since the daemon started.", s.uptime_s);
    e.family("source_info", "gauge", "The time source in use.");
    e.sample("source_info", 1,
             "type=\"" + label_value(s.source.type) + "\",path=\"" + label_value(s.source.path) +
                 "\",method=\"" + label_value(s.source.method) + "\"");
    e.family("build_info", "gauge", "vmrefclockd build information.");
    e.sample("build_info", 1, "version=\"" + label_value(s.version) + "\"");
    return e.str();
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

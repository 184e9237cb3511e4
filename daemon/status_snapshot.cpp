#include "daemon/status_snapshot.h"

#include <sys/resource.h>

namespace vmrefclock {

StatusSnapshot build_snapshot(const Pipeline& pipeline, const SnapshotContext& context) {
    StatusSnapshot s;
    s.state = pipeline.state();
    s.reason = pipeline.reason();
    s.source = {context.source_type, context.source_path, pipeline.source_method()};
    if (auto e = pipeline.estimate()) {
        s.offset_ns = e->offset_ns;
        s.frequency_ppm = e->frequency_ppm;
        s.stddev_ns = e->stddev_ns;
        s.error_bound_ns = e->error_bound_ns;
    }
    if (!pipeline.recent().empty()) s.delay_ns = pipeline.recent().back().delay_ns;
    s.samples_in_window = pipeline.samples_in_window();
    s.polls = pipeline.polls();
    s.samples_sent = pipeline.samples_sent();
    s.samples_rejected = pipeline.samples_rejected();
    if (auto sent = pipeline.last_sent_mono_ns()) {
        s.last_sample_age_s = static_cast<double>(context.now_mono_ns - *sent) / 1e9;
    }
    const DisruptionRecord& d = pipeline.disruptions();
    s.disruptions.count = d.count;
    if (d.count > 0) {
        s.disruptions.last_time_ns = d.last_time_ns;
        s.disruptions.last_cause = to_string(d.last_cause);
    }
    if (pipeline.host()) s.host = host_status_from(*pipeline.host());
    for (const Sink* sink : pipeline.sinks()) {
        s.sinks.push_back(sink->status());
        // The clock sink is also reported as `chrony`, as before the list.
        if (sink->feeds_clock() && s.chrony.socket.empty()) {
            const SinkStatus& chrony = s.sinks.back();
            s.chrony.socket = chrony.target;
            s.chrony.connected = chrony.healthy;
            s.chrony.last_error = chrony.last_error;
        }
    }
    if (rusage usage{}; getrusage(RUSAGE_SELF, &usage) == 0) {
        auto seconds = [](const timeval& tv) {
            return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
        };
        s.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    }
    s.uptime_s = static_cast<double>(context.now_mono_ns - context.started_mono_ns) / 1e9;
    s.version = VMREFCLOCK_VERSION;
    return s;
}

}  // namespace vmrefclock

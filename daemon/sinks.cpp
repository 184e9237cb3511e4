#include "daemon/sinks.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "ipc/clockbound/clockbound_writer.h"

namespace vmrefclock {

std::vector<Sink*> SinkSet::pointers() const {
    std::vector<Sink*> out;
    out.reserve(sinks.size());
    for (const auto& sink : sinks) out.push_back(sink.get());
    return out;
}

Result<SinkSet> make_sinks(const Config& config) {
    SinkSet set;
    // The back-off between reconnects never exceeds one chrony poll.
    const int64_t poll_ns = std::llround(std::ldexp(1.0, config.chrony.poll) * 1e9);
    auto chrony = std::make_unique<ChronySockSink>(
        config.chrony.socket,
        std::clamp<int64_t>(poll_ns, ChronySockSink::kMinBackoffNs, ChronySockSink::kMaxBackoffNs));
    set.chrony = chrony.get();
    set.sinks.push_back(std::move(chrony));
    if (config.clockbound.enabled) {
        auto writer = ClockBoundWriter::open(config.clockbound.path);
        if (!writer) return writer.error();
        spdlog::info("clockbound segment {} ({})", (*writer)->path(),
                     (*writer)->warm_restart() ? "warm restart: the existing segment is reused"
                                               : "new segment");
        set.sinks.push_back(std::move(*writer));
    }
    return set;
}

}  // namespace vmrefclock

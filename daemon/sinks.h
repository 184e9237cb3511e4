// The sinks the configuration asks for, built in this one place: a new sink is its own
// files (implementing filter/sink.h) plus its entry in make_sinks().
#pragma once

#include <memory>
#include <vector>

#include "config/config.h"
#include "filter/result.h"
#include "filter/sink.h"
#include "ipc/chrony/chrony_sock.h"

namespace vmrefclock {

struct SinkSet {
    std::vector<std::unique_ptr<Sink>> sinks;
    // Also in `sinks`: the directory watch brings its reconnect forward, and a chrony
    // reset waits until it has been read.
    ChronySockSink* chrony = nullptr;

    std::vector<Sink*> pointers() const;
};

Result<SinkSet> make_sinks(const Config& config);

}  // namespace vmrefclock

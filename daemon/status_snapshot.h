// The status socket's view of the running daemon, assembled from the pipeline and its
// sinks.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/pipeline.h"
#include "ipc/status/status.h"

namespace vmrefclock {

struct SnapshotContext {
    std::string source_type;
    std::string source_path;
    int64_t started_mono_ns = 0;
    int64_t now_mono_ns = 0;
};

StatusSnapshot build_snapshot(const Pipeline& pipeline, const SnapshotContext& context);

}  // namespace vmrefclock

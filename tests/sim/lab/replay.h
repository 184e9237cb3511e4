// Where the scorer's polls come from: the trace generator (a scenario and a seed) or a
// trace file (filter/batch_trace.h: recorded by vmrefclockd, or a scenario written out).
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "filter/batch_trace.h"
#include "filter/result.h"
#include "filter/types.h"
#include "tests/sim/lab/scenario.h"
#include "tests/sim/lab/trace.h"

namespace vmrefclock::lab {

class BatchStream {
  public:
    virtual ~BatchStream() = default;
    // The next poll's batch, or nullptr at the end (a trace file's; generators never end).
    virtual const Batch* next() = 0;
    // The event that happened at the start of the last poll, if any.
    virtual EventKind event() const = 0;
    // True (reference - system) at system time t inside the last poll; nothing if the
    // truth is unknown there.
    virtual std::optional<double> truth(int64_t t_ns) const = 0;
    // Why the stream ended early (a parse error), "" when it did not.
    virtual std::string error() const { return {}; }
};

class GeneratedStream final : public BatchStream {
  public:
    GeneratedStream(const ScenarioConfig& config, uint64_t seed) : gen_(config, seed) {}
    const Batch* next() override { return &gen_.next(); }
    EventKind event() const override { return gen_.event(); }
    // The exact truth; inside the last poll (and up to kPollMarginNs before it: chrony's
    // tv is the time floored to the microsecond) that poll's clock, not the one before an
    // event.
    std::optional<double> truth(int64_t t_ns) const override {
        return t_ns >= gen_.poll_start_ns() - kPollMarginNs ? gen_.truth_in_last_poll(t_ns)
                                                            : gen_.truth(t_ns);
    }
    static constexpr int64_t kPollMarginNs = 2'000;
    const TraceGenerator& generator() const { return gen_; }

  private:
    TraceGenerator gen_;
};

// Replays a trace file poll by poll (a day of polls is ~70 MB: never read whole).
class TraceFileStream final : public BatchStream {
  public:
    explicit TraceFileStream(const std::string& path);
    const Batch* next() override;
    EventKind event() const override { return event_; }
    std::optional<double> truth(int64_t t_ns) const override;
    std::string error() const override { return error_; }
    // Whether the file could be opened (error() says why not).
    bool ok() const { return error_.empty(); }

  private:
    std::ifstream in_;
    TraceParser parser_;
    std::optional<TracePoll> poll_;
    std::optional<TracePoll> ahead_;
    bool at_end_ = false;
    EventKind event_ = EventKind::none;
    // One point per recent poll with a truth: its readings' mean midpoint and truth.
    struct Point {
        int64_t mid_ns;
        double truth_ns;
        int64_t first_mid_ns;
        bool event;
    };
    std::vector<Point> points_;  // oldest first, the last 64 polls
    std::optional<uint64_t> last_marker_;
    std::string error_;
};

// Writes `polls` polls of a scenario as a trace file, truth and events included.
Status write_trace_file(const ScenarioConfig& config, uint64_t seed, int64_t polls,
                        const std::string& path);

}  // namespace vmrefclock::lab

// The trace file: a source's raw readings, one per line, as vmrefclockd records them
// ([source] record) and as the clock lab replays them (scripts/bench --trace FILE).
//
// Format (CSV, version 1):
//
//   # vmrefclock trace v1                      lines starting with '#' and blank lines
//   poll,sys_pre_ns,ref_ns,sys_post_ns,precision_ns,marker,maxerror_ns,true_offset_ns,event
//   0,1782000000000010123,1782000000000022468,1782000000000010156,1,1,50,12345.0000,
//   0,1782000000000010176,1782000000000022520,1782000000000010207,1,1,50,12345.0001,
//   1,...
//
// The first line that is not a comment names the columns; they may come in any order
// and columns this version does not know are ignored. One reading per line:
//   poll           integer, required. Consecutive lines with the same poll index are one
//                  poll's batch, readings in file order. Must not decrease.
//   sys_pre_ns     integer, required: CLOCK_REALTIME just before the read (ns since 1970).
//   ref_ns         integer, required: the reference's time (UTC, ns since 1970).
//   sys_post_ns    integer, required: CLOCK_REALTIME just after the read.
//   precision_ns   integer >= 1: resolution of a reading. Empty or absent: 1.
//   marker         the host's disruption marker (vmclock page); empty or absent: the poll
//                  carried no host metadata (ptp_kvm). A change between polls is a
//                  disruption: the lab resets every filter, as the daemon does.
//   maxerror_ns    the host's published time_maxerror (needs a marker); empty: none.
//   true_offset_ns the truth, when known (a simulator, a reference clock beside the
//                  guest): true (reference - system) in ns, decimal, at the reading's
//                  midpoint (sys_pre_ns + sys_post_ns) / 2. The lab interpolates it
//                  linearly inside the poll; a poll missing it on any line is not scored.
//   event          "disruption" or "master_step" on a poll where a simulator put one
//                  (recovery times are measured from these); empty otherwise.
// Per-poll columns (precision_ns, marker, maxerror_ns, event) are read from the poll's
// first line. vmrefclockd records the first seven columns and leaves the last two empty.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "filter/result.h"
#include "filter/types.h"

namespace vmrefclock {

// One poll of a trace file.
struct TracePoll {
    int64_t poll = 0;
    Batch batch;
    // Per reading: true (reference - system) at its midpoint; empty when any is unknown.
    std::vector<double> true_offset_ns;
    std::string event;
};

// The comment and header lines every trace file starts with, newline-terminated.
std::string trace_file_header();

// The lines of one poll, newline-terminated. true_offset_ns: one per reading or empty.
std::string format_trace_poll(int64_t poll, const Batch& batch,
                              std::span<const double> true_offset_ns = {},
                              std::string_view event = {});

// Reads a trace line by line (the caller does the I/O): feed() each line without its
// newline; a completed poll comes out when the next one starts, the last from finish().
// Errors name the origin and line number and stop the parse.
class TraceParser {
  public:
    explicit TraceParser(std::string origin) : origin_(std::move(origin)) {}

    Result<std::optional<TracePoll>> feed(std::string_view line);
    Result<std::optional<TracePoll>> finish();
    int64_t line_number() const { return line_; }

  private:
    enum Column {
        kPoll,
        kPre,
        kRef,
        kPost,
        kPrecision,
        kMarker,
        kMaxerror,
        kTruth,
        kEvent,
        kCount
    };
    Error error(const std::string& what) const;
    Result<std::optional<TracePoll>> take();

    std::string origin_;
    int64_t line_ = 0;
    bool have_header_ = false;
    std::vector<int> columns_;  // per field of a line: its Column, or -1 (ignored)
    std::optional<TracePoll> current_;
    bool truth_complete_ = true;
    std::optional<int64_t> last_poll_;
};

}  // namespace vmrefclock

// The status protocol's request side: one request line in, one response line out.
//   {"cmd":"status"}             -> {"ok":true,"status":{...StatusSnapshot...}}
//   {"cmd":"samples","n":N}      -> {"ok":true,"samples":[{...SampleRecord...}, ...]}
//   {"cmd":"metrics"}            -> {"ok":true,"metrics":"<Prometheus text>"}
//   {"cmd":"reset"[,"reason":S]} -> {"ok":true}  (uid 0 or the configured group only)
//   {"cmd":"sources"}            -> {"ok":true,"sources":"<discovery report>"}
//   anything else                -> {"ok":false,"error":"..."}
// Any byte sequence gets a response: malformed JSON, ill-formed UTF-8 and wrong types
// are protocol errors, and every string the daemon echoes or logs is valid UTF-8, cut
// on a character boundary.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "filter/result.h"
#include "ipc/status/status.h"

namespace vmrefclock {

// What the daemon provides; each runs on the loop thread and must not block.
struct StatusCallbacks {
    std::function<StatusSnapshot()> snapshot;
    std::function<std::vector<SampleRecord>(size_t n)> samples;  // newest n, newest last
    // Discard calibration and reset chrony, as a disruption does. The reason is printable
    // UTF-8 of at most kMaxResetReasonBytes.
    std::function<Status(const std::string& reason)> reset;
    std::function<std::string()> sources;  // the source discovery report, as text
};

inline constexpr size_t kMaxResetReasonBytes = 200;

struct StatusPeer {
    uid_t uid = static_cast<uid_t>(-1);
    bool may_reset = false;  // uid 0 or a member of the status group
};

// The response line (no newline) to one request line (no newline).
std::string answer_status_request(std::string_view line, const StatusCallbacks& callbacks,
                                  const StatusPeer& peer, size_t max_samples);

// {"ok":false,"error":message}, message made printable.
std::string status_error_line(std::string_view message);

}  // namespace vmrefclock

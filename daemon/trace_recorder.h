// Records each poll's raw batch to a trace file ([source] record), for replay in the
// clock lab. One write() of a few lines per poll; a failure is logged (once, and again
// when it changes) and retried at the next poll, never fatal. The file is moved to
// <path>.1 at startup when not empty and whenever it would grow past max_bytes.
#pragma once

#include <cstdint>
#include <string>

#include "filter/result.h"
#include "filter/types.h"

namespace vmrefclock {

class TraceRecorder {
  public:
    TraceRecorder(std::string path, uint64_t max_bytes);
    ~TraceRecorder();
    TraceRecorder(const TraceRecorder&) = delete;
    TraceRecorder& operator=(const TraceRecorder&) = delete;

    void record(const Batch& batch);
    // The last failure, "" while recording works.
    const std::string& last_error() const { return last_error_; }

  private:
    Status write_poll(const Batch& batch);
    Status open_file(bool fresh);
    Status rotate();
    Status write_all(const std::string& text);
    void close_file();

    std::string path_;
    uint64_t max_bytes_;
    int fd_ = -1;
    uint64_t size_ = 0;
    uint64_t polls_ = 0;
    bool started_ = false;
    std::string last_error_;
};

}  // namespace vmrefclock

#include "daemon/trace_recorder.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "filter/batch_trace.h"

namespace vmrefclock {

TraceRecorder::TraceRecorder(std::string path, uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

TraceRecorder::~TraceRecorder() {
    close_file();
}

void TraceRecorder::close_file() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
}

Status TraceRecorder::write_all(const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = write(fd_, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno_error("cannot write " + path_, n < 0 ? errno : EIO);
        done += static_cast<size_t>(n);
    }
    size_ += text.size();
    return Ok{};
}

// fresh: move a non-empty file aside first (each daemon run starts its own file, whose
// poll indices start at 0).
Status TraceRecorder::open_file(bool fresh) {
    struct stat st {};
    if (fresh && stat(path_.c_str(), &st) == 0 && st.st_size > 0) {
        if (Status moved = rotate(); !moved) return moved;
    }
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd_ < 0) return errno_error("cannot open " + path_, errno);
    if (fstat(fd_, &st) != 0) {
        const int e = errno;
        close_file();
        return errno_error("cannot stat " + path_, e);
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ == 0) return write_all(trace_file_header());
    return Ok{};
}

Status TraceRecorder::rotate() {
    close_file();
    const std::string old = path_ + ".1";
    if (std::rename(path_.c_str(), old.c_str()) != 0 && errno != ENOENT) {
        return errno_error("cannot rename " + path_ + " to " + old, errno);
    }
    return Ok{};
}

Status TraceRecorder::write_poll(const Batch& batch) {
    if (fd_ < 0) {
        if (Status opened = open_file(!started_); !opened) return opened;
        started_ = true;
    }
    const std::string lines = format_trace_poll(static_cast<int64_t>(polls_), batch);
    if (size_ > 0 && size_ + lines.size() > max_bytes_) {
        if (Status moved = rotate(); !moved) return moved;
        if (Status opened = open_file(false); !opened) return opened;
    }
    if (Status written = write_all(lines); !written) {
        close_file();  // reopened at the next poll
        return written;
    }
    return Ok{};
}

void TraceRecorder::record(const Batch& batch) {
    if (batch.readings.empty()) return;
    Status s = write_poll(batch);
    ++polls_;
    if (!s) {
        if (s.error().message != last_error_) {
            spdlog::error("recording raw readings: {}; retrying at every poll", s.error().message);
        }
        last_error_ = s.error().message;
        return;
    }
    if (!last_error_.empty()) spdlog::info("recording raw readings to {} again", path_);
    last_error_.clear();
}

}  // namespace vmrefclock

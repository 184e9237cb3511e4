// Opens a vmclock page (a real /dev/vmclock0 or a page file) and takes seqcount-consistent
// reads of it.
//
// Distrusts what it opens: a path that is neither a character device nor a regular file
// (a FIFO, a directory) is refused at once, never waited on (opened O_NONBLOCK, checked
// with fstat before anything is read). A device is mapped; a regular file is read with
// pread, so a file truncated under the reader gives a short read and an error, never a
// SIGBUS. Magic, version and size are checked on every read, not only at open, and
// still_current() tells whether the path still names the file that was opened.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "filter/result.h"
#include "sources/vmclock/abi.h"
#include "sources/vmclock/time_math.h"

namespace vmrefclock::vmclock {

// The fields a disruption check compares: what the watch between polls reads
// (VmclockPage::read_signals) and what a full read saw.
struct PageSignals {
    uint64_t disruption_marker = 0;
    uint64_t flags = 0;
    uint8_t clock_status = 0;
    // The vm_generation_counter field when the flag says it is present and the file has
    // it (whatever `size` says: the watch does not read the header), else 0.
    uint64_t generation_field = 0;
    bool operator==(const PageSignals&) const = default;
};

// The fields of one consistent read, plus the CPU counter read inside the same
// seqcount window, bracketed by CLOCK_REALTIME reads.
struct PageRead {
    uint8_t counter_id = kCounterInvalid;
    uint8_t time_type = kTimeUtc;
    uint64_t disruption_marker = 0;
    uint64_t flags = 0;
    uint8_t clock_status = 0;
    uint8_t leap_indicator = 0;
    int16_t tai_offset_sec = 0;
    uint64_t time_esterror_ns = 0;
    uint64_t time_maxerror_ns = 0;
    bool has_generation = false;  // field present in `size` and flag set
    uint64_t vm_generation = 0;
    CounterCalibration calibration;

    PageSignals signals;  // the above as the watch compares them

    bool counter_read = false;
    uint64_t counter = 0;
    int64_t sys_pre_ns = 0;
    int64_t sys_post_ns = 0;
};

class VmclockPage {
  public:
    // Validates the file type, magic, version and size; a clear error names the field and
    // value. ENOENT (in the error's code) when the path names nothing.
    static Result<std::unique_ptr<VmclockPage>> open(const std::string& path);
    ~VmclockPage();
    VmclockPage(const VmclockPage&) = delete;
    VmclockPage& operator=(const VmclockPage&) = delete;

    // One consistent read. With `read_counter`, also reads the CPU counter between two
    // CLOCK_REALTIME reads inside the seqcount window. Gives up after `retry_bound_ns`
    // of odd or changing seq_count (the kernel uses 100 ms). An error, too, when the page
    // no longer has a valid header or the file was truncated.
    // CLOCK_MONOTONIC is read only when a retry is needed (for the bound).
    Result<PageRead> read(bool read_counter) const;

    // The disruption signals alone, for a watch between full reads: loads of the few
    // fields from a device's mapping, one pread of them from a file. No seqcount loop, no
    // clock read, no header check, no allocation: a torn read can only show a change
    // that is not there (the caller then reads in full) or miss one the next watch sees.
    // False on a short or failed pread.
    bool read_signals(PageSignals& out) const;

    // True while the path names the opened file; false once it names another (the file
    // was replaced: open it again); an error when it names nothing (deleted) or cannot
    // be looked at.
    Result<bool> still_current() const;

    const std::string& path() const { return path_; }
    int fd() const { return fd_; }

  private:
    VmclockPage(std::string path, int fd, const Abi* map, dev_t dev, ino_t ino);

    // The seq_count, and a copy of the structure (field by field from a device mapping,
    // by pread from a file): how many of its bytes exist, or an error.
    Result<uint32_t> load_seq() const;
    Result<size_t> snapshot(Abi& out) const;

    std::string path_;
    int fd_ = -1;
    const Abi* map_ = nullptr;  // a device's mapping; nullptr for a regular file
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    int64_t retry_bound_ns_ = 100'000'000;
};

// Why `abi` (with `available` bytes read) is not a vmclock page, or "" when it is one.
std::string header_problem(const Abi& abi, size_t available);

}  // namespace vmrefclock::vmclock

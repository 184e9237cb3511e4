// Opens and maps a vmclock page (a real /dev/vmclock0 or a page file) and takes
// seqcount-consistent reads of it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "filter/result.h"
#include "sources/vmclock/abi.h"
#include "sources/vmclock/time_math.h"

namespace vmrefclock::vmclock {

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

    bool counter_read = false;
    uint64_t counter = 0;
    int64_t sys_pre_ns = 0;
    int64_t sys_post_ns = 0;
};

class VmclockPage {
  public:
    // Validates magic, version and size; a clear error names the field and value.
    static Result<std::unique_ptr<VmclockPage>> open(const std::string& path);
    ~VmclockPage();
    VmclockPage(const VmclockPage&) = delete;
    VmclockPage& operator=(const VmclockPage&) = delete;

    // One consistent read. With `read_counter`, also reads the CPU counter between two
    // CLOCK_REALTIME reads inside the seqcount window. Gives up after `retry_bound_ns`
    // of odd or changing seq_count (the kernel uses 100 ms).
    Result<PageRead> read(bool read_counter) const;

    const std::string& path() const { return path_; }

  private:
    VmclockPage(std::string path, int fd, const Abi* page, size_t map_len, uint32_t size);

    std::string path_;
    int fd_ = -1;
    const Abi* page_ = nullptr;
    size_t map_len_ = 0;
    uint32_t size_ = 0;
    int64_t retry_bound_ns_ = 100'000'000;
};

}  // namespace vmrefclock::vmclock

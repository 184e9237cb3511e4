#include "sources/vmclock/page_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sources/system_clock.h"
#include "sources/vmclock/counter.h"

namespace vmrefclock::vmclock {

namespace {

// The host writes the page concurrently: every field is loaded atomically (no tearing,
// no compiler caching), and ordering comes from the explicit acquire fences.
template <typename T>
T load(const T& field) {
    return __atomic_load_n(&field, __ATOMIC_RELAXED);
}

void back_off(int attempt) {
    if (attempt < 1000) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        return;
    }
    // A host stuck mid-update: stop spinning hard, the bound still applies.
    timespec ts{0, 50'000};
    nanosleep(&ts, nullptr);
}

std::string describe_path_error(const std::string& path, const char* what, int err) {
    return path + ": " + what + ": " + std::strerror(err);
}

}  // namespace

VmclockPage::VmclockPage(std::string path, int fd, const Abi* page, size_t map_len, uint32_t size)
    : path_(std::move(path)), fd_(fd), page_(page), map_len_(map_len), size_(size) {}

VmclockPage::~VmclockPage() {
    if (page_ != nullptr) munmap(const_cast<Abi*>(page_), map_len_);
    if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<VmclockPage>> VmclockPage::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(describe_path_error(path, "cannot open", errno), errno);
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return make_error(describe_path_error(path, "fstat", err), err);
    }
    // The device is one page; a page file may be shorter, but must hold the fields we read.
    size_t map_len = kPageSize;
    if (S_ISREG(st.st_mode)) {
        if (st.st_size < static_cast<off_t>(kSizeWithMaxerror)) {
            close(fd);
            return make_error(path + ": file is " + std::to_string(st.st_size) +
                              " bytes, a vmclock page needs at least " +
                              std::to_string(kSizeWithMaxerror));
        }
        map_len = std::min<size_t>(kPageSize, static_cast<size_t>(st.st_size));
    }
    void* map = mmap(nullptr, map_len, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        int err = errno;
        close(fd);
        return make_error(describe_path_error(path, "mmap", err), err);
    }
    const Abi* page = static_cast<const Abi*>(map);
    auto fail = [&](std::string message) {
        munmap(map, map_len);
        close(fd);
        return make_error(path + ": " + std::move(message));
    };
    const uint32_t magic = load(page->magic);
    if (magic != kMagic) {
        char buf[96];
        snprintf(buf, sizeof buf, "bad magic 0x%08x (expected 0x%08x): not a vmclock page", magic,
                 kMagic);
        return fail(buf);
    }
    const uint16_t version = load(page->version);
    if (version != kVersion) {
        return fail("unsupported version " + std::to_string(version) + " (expected " +
                    std::to_string(kVersion) + ")");
    }
    const uint32_t size = load(page->size);
    if (size < kSizeWithMaxerror) {
        return fail("size field " + std::to_string(size) + " is too small (at least " +
                    std::to_string(kSizeWithMaxerror) + " bytes expected)");
    }
    if (size > map_len && map_len < kPageSize) {
        return fail("size field " + std::to_string(size) + " exceeds the file's " +
                    std::to_string(map_len) + " bytes");
    }
    return std::unique_ptr<VmclockPage>(new VmclockPage(path, fd, page, map_len, size));
}

Result<PageRead> VmclockPage::read(bool read_counter) const {
    const int64_t deadline = read_clock_ns(CLOCK_MONOTONIC) + retry_bound_ns_;
    const bool has_generation_field = size_ >= kSizeWithGeneration;
    for (int attempt = 0;; ++attempt) {
        if (attempt > 0) {
            if (read_clock_ns(CLOCK_MONOTONIC) > deadline) {
                return make_error(path_ + ": seq_count stayed odd or kept changing for " +
                                  std::to_string(retry_bound_ns_ / 1'000'000) +
                                  " ms: host update stuck");
            }
            back_off(attempt);
        }
        const uint32_t seq = load(page_->seq_count);
        if (seq & 1u) continue;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);

        PageRead r;
        r.counter_id = load(page_->counter_id);
        r.time_type = load(page_->time_type);
        r.disruption_marker = load(page_->disruption_marker);
        r.flags = load(page_->flags);
        r.clock_status = load(page_->clock_status);
        r.leap_indicator = load(page_->leap_indicator);
        r.tai_offset_sec = load(page_->tai_offset_sec);
        r.time_esterror_ns = load(page_->time_esterror_nanosec);
        r.time_maxerror_ns = load(page_->time_maxerror_nanosec);
        if (has_generation_field) r.vm_generation = load(page_->vm_generation_counter);
        r.has_generation = has_generation_field && (r.flags & kFlagVmGenCounterPresent);
        r.calibration.counter_value = load(page_->counter_value);
        r.calibration.counter_period_frac_sec = load(page_->counter_period_frac_sec);
        r.calibration.counter_period_shift = load(page_->counter_period_shift);
        r.calibration.time_sec = load(page_->time_sec);
        r.calibration.time_frac_sec = load(page_->time_frac_sec);
        if (read_counter) {
            r.sys_pre_ns = read_clock_ns(CLOCK_REALTIME);
            r.counter = read_cpu_counter();
            r.sys_post_ns = read_clock_ns(CLOCK_REALTIME);
            r.counter_read = true;
        }

        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (load(page_->seq_count) != seq) continue;
        return r;
    }
}

}  // namespace vmrefclock::vmclock

#include "sources/vmclock/page_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
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

void copy_fields(const Abi& from, Abi& to) {
    to.magic = load(from.magic);
    to.size = load(from.size);
    to.version = load(from.version);
    to.counter_id = load(from.counter_id);
    to.time_type = load(from.time_type);
    to.seq_count = load(from.seq_count);
    to.disruption_marker = load(from.disruption_marker);
    to.flags = load(from.flags);
    to.clock_status = load(from.clock_status);
    to.leap_second_smearing_hint = load(from.leap_second_smearing_hint);
    to.tai_offset_sec = load(from.tai_offset_sec);
    to.leap_indicator = load(from.leap_indicator);
    to.counter_period_shift = load(from.counter_period_shift);
    to.counter_value = load(from.counter_value);
    to.counter_period_frac_sec = load(from.counter_period_frac_sec);
    to.counter_period_esterror_rate_frac_sec = load(from.counter_period_esterror_rate_frac_sec);
    to.counter_period_maxerror_rate_frac_sec = load(from.counter_period_maxerror_rate_frac_sec);
    to.time_sec = load(from.time_sec);
    to.time_frac_sec = load(from.time_frac_sec);
    to.time_esterror_nanosec = load(from.time_esterror_nanosec);
    to.time_maxerror_nanosec = load(from.time_maxerror_nanosec);
    to.vm_generation_counter = load(from.vm_generation_counter);
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

const char* file_kind(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISBLK(mode)) return "a block device";
    return "not a regular file";
}

std::string too_short(size_t bytes) {
    return "file is " + std::to_string(bytes) + " bytes, a vmclock page needs at least " +
           std::to_string(kSizeWithMaxerror);
}

// pread of exactly `len` bytes at `offset`, retried on EINTR: how many there were.
Result<size_t> pread_all(int fd, void* buf, size_t len, off_t offset, const std::string& path) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = ::pread(fd, static_cast<char*>(buf) + done, len - done,
                            offset + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(path + ": pread", errno);
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    return done;
}

PageSignals signals_of(uint64_t marker, uint64_t flags, uint8_t clock_status,
                       bool generation_in_file, uint64_t generation_field) {
    PageSignals s;
    s.disruption_marker = marker;
    s.flags = flags;
    s.clock_status = clock_status;
    if (generation_in_file && (flags & kFlagVmGenCounterPresent))
        s.generation_field = generation_field;
    return s;
}

}  // namespace

std::string header_problem(const Abi& abi, size_t available) {
    if (available < kSizeWithMaxerror) return too_short(available);
    if (abi.magic != kMagic) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "bad magic 0x%08x (expected 0x%08x): not a vmclock page",
                      abi.magic, kMagic);
        return buf;
    }
    if (abi.version != kVersion) {
        return "unsupported version " + std::to_string(abi.version) + " (expected " +
               std::to_string(kVersion) + ")";
    }
    if (abi.size < kSizeWithMaxerror) {
        return "size field " + std::to_string(abi.size) + " is too small (at least " +
               std::to_string(kSizeWithMaxerror) + " bytes expected)";
    }
    if (abi.size > available && available < sizeof(Abi)) {
        return "size field " + std::to_string(abi.size) + " exceeds the file's " +
               std::to_string(available) + " bytes";
    }
    return "";
}

VmclockPage::VmclockPage(std::string path, int fd, const Abi* map, dev_t dev, ino_t ino)
    : path_(std::move(path)), fd_(fd), map_(map), dev_(dev), ino_(ino) {}

VmclockPage::~VmclockPage() {
    if (map_ != nullptr) munmap(const_cast<Abi*>(map_), kPageSize);
    if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<VmclockPage>> VmclockPage::open(const std::string& path) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return errno_error(path + ": cannot open", errno);
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return errno_error(path + ": fstat", err);
    }
    const Abi* map = nullptr;
    if (S_ISCHR(st.st_mode)) {
        // The device is one page.
        void* m = mmap(nullptr, kPageSize, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            int err = errno;
            close(fd);
            return errno_error(path + ": mmap", err);
        }
        map = static_cast<const Abi*>(m);
    } else if (S_ISREG(st.st_mode)) {
        if (st.st_size < static_cast<off_t>(kSizeWithMaxerror)) {
            close(fd);
            return make_error(path + ": " + too_short(static_cast<size_t>(st.st_size)));
        }
    } else {
        close(fd);
        return make_error(path + ": is " + file_kind(st.st_mode) +
                              ", not a character device or a regular file: refused",
                          EINVAL);
    }
    std::unique_ptr<VmclockPage> page(new VmclockPage(path, fd, map, st.st_dev, st.st_ino));
    Abi abi{};
    Result<size_t> available = page->snapshot(abi);
    if (!available) return available.error();
    if (std::string problem = header_problem(abi, *available); !problem.empty()) {
        return make_error(path + ": " + problem);
    }
    return page;
}

Result<bool> VmclockPage::still_current() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
        const int err = errno;
        if (err == ENOENT) return make_error(path_ + ": no longer exists (deleted)", err);
        return errno_error(path_ + ": stat", err);
    }
    return st.st_dev == dev_ && st.st_ino == ino_;
}

Result<uint32_t> VmclockPage::load_seq() const {
    if (map_ != nullptr) return load(map_->seq_count);
    uint32_t seq = 0;
    Result<size_t> n = pread_all(fd_, &seq, sizeof seq, offsetof(Abi, seq_count), path_);
    if (!n) return n.error();
    if (*n < sizeof seq) {
        struct stat st {};
        const size_t now = fstat(fd_, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
        return make_error(path_ + ": truncated: " + too_short(now));
    }
    return seq;
}

Result<size_t> VmclockPage::snapshot(Abi& out) const {
    if (map_ != nullptr) {
        copy_fields(*map_, out);
        return sizeof(Abi);
    }
    out = Abi{};
    Result<size_t> n = pread_all(fd_, &out, sizeof out, 0, path_);
    if (n && *n < kSizeWithMaxerror) return make_error(path_ + ": truncated: " + too_short(*n));
    return n;
}

bool VmclockPage::read_signals(PageSignals& out) const {
    if (map_ != nullptr) {
        const uint64_t flags = load(map_->flags);
        out =
            signals_of(load(map_->disruption_marker), flags, load(map_->clock_status), true,
                       (flags & kFlagVmGenCounterPresent) ? load(map_->vm_generation_counter) : 0);
        return true;
    }
    // One pread from the marker to the generation counter: one system call instead of two
    // (the fields between are copied, not looked at).
    constexpr size_t kFrom = offsetof(Abi, disruption_marker);
    constexpr size_t kTo = offsetof(Abi, vm_generation_counter) + sizeof(uint64_t);
    alignas(8) unsigned char bytes[kTo - kFrom];
    ssize_t n = 0;
    do {
        n = ::pread(fd_, bytes, sizeof bytes, kFrom);
    } while (n < 0 && errno == EINTR);
    if (n < static_cast<ssize_t>(offsetof(Abi, clock_status) + 1 - kFrom)) return false;
    auto field = [&](size_t offset, auto& v) {
        std::memcpy(&v, bytes + (offset - kFrom), sizeof v);
    };
    uint64_t marker = 0, flags = 0, generation = 0;
    uint8_t status = 0;
    field(offsetof(Abi, disruption_marker), marker);
    field(offsetof(Abi, flags), flags);
    field(offsetof(Abi, clock_status), status);
    const bool has_generation = n == static_cast<ssize_t>(sizeof bytes);
    if (has_generation) field(offsetof(Abi, vm_generation_counter), generation);
    out = signals_of(marker, flags, status, has_generation, generation);
    return true;
}

Result<PageRead> VmclockPage::read(bool read_counter) const {
    // The bound counts from the first retry: a read that succeeds at once (nearly every
    // one) reads no clock beyond the counter's bracket.
    int64_t deadline = 0;
    for (int attempt = 0;; ++attempt) {
        if (attempt == 1) deadline = read_clock_ns(CLOCK_MONOTONIC) + retry_bound_ns_;
        if (attempt > 1) {
            if (read_clock_ns(CLOCK_MONOTONIC) > deadline) {
                return make_error(path_ + ": seq_count stayed odd or kept changing for " +
                                  std::to_string(retry_bound_ns_ / 1'000'000) +
                                  " ms: host update stuck");
            }
            back_off(attempt);
        }
        Result<uint32_t> seq = load_seq();
        if (!seq) return seq.error();
        if (*seq & 1u) continue;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);

        Abi abi{};
        Result<size_t> available = snapshot(abi);
        if (!available) return available.error();
        PageRead r;
        if (read_counter) {
            r.sys_pre_ns = read_clock_ns(CLOCK_REALTIME);
            r.counter = read_cpu_counter();
            r.sys_post_ns = read_clock_ns(CLOCK_REALTIME);
            r.counter_read = true;
        }

        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        Result<uint32_t> again = load_seq();
        if (!again) return again.error();
        if (*again != *seq) continue;

        // Checked on every read: a host may rewrite the header at any time.
        if (std::string problem = header_problem(abi, *available); !problem.empty()) {
            return make_error(path_ + ": " + problem);
        }
        const size_t fields = std::min<size_t>(abi.size, *available);
        const bool has_generation_field = fields >= kSizeWithGeneration;
        r.counter_id = abi.counter_id;
        r.time_type = abi.time_type;
        r.disruption_marker = abi.disruption_marker;
        r.flags = abi.flags;
        r.clock_status = abi.clock_status;
        r.leap_indicator = abi.leap_indicator;
        r.tai_offset_sec = abi.tai_offset_sec;
        r.time_esterror_ns = abi.time_esterror_nanosec;
        r.time_maxerror_ns = abi.time_maxerror_nanosec;
        if (has_generation_field) r.vm_generation = abi.vm_generation_counter;
        r.has_generation = has_generation_field && (r.flags & kFlagVmGenCounterPresent);
        r.signals = signals_of(abi.disruption_marker, abi.flags, abi.clock_status,
                               *available >= kSizeWithGeneration, abi.vm_generation_counter);
        r.calibration.counter_value = abi.counter_value;
        r.calibration.counter_period_frac_sec = abi.counter_period_frac_sec;
        r.calibration.counter_period_shift = abi.counter_period_shift;
        r.calibration.time_sec = abi.time_sec;
        r.calibration.time_frac_sec = abi.time_frac_sec;
        return r;
    }
}

}  // namespace vmrefclock::vmclock

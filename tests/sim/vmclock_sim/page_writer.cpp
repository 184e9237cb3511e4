#include "tests/sim/vmclock_sim/page_writer.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace vmrefclock::sim {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// The reader runs in another process and reads these words concurrently; atomic_ref makes each
// store a single, untorn store (what the kernel's WRITE_ONCE-style hypervisor writers do).
template <typename T>
void store(T& field, T value) {
    std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}

}  // namespace

PageWriter::PageWriter(const std::string& path, const VmclockAbi& initial) : path_(path) {
    std::vector<unsigned char> buf(kPageSize, 0);
    VmclockAbi head = initial;
    head.magic = kVmclockMagic;
    head.size = kPageSize;
    head.version = 1;
    head.seq_count = 0;
    std::memcpy(buf.data(), &head, sizeof head);

    std::string tmp = path + ".tmpXXXXXX";
    int fd = mkstemp(tmp.data());
    if (fd < 0) fail("cannot create temp file for", path);
    auto cleanup = [&] {
        int saved = errno;
        close(fd);
        unlink(tmp.c_str());
        errno = saved;
    };
    // mkstemp makes 0600; the daemon under test may run as another user and only reads.
    if (fchmod(fd, 0644) != 0) {
        cleanup();
        fail("cannot chmod", tmp);
    }
    std::size_t done = 0;
    while (done < buf.size()) {
        ssize_t n = write(fd, buf.data() + done, buf.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            cleanup();
            fail("cannot write", tmp);
        }
        done += static_cast<std::size_t>(n);
    }
    void* m = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        cleanup();
        fail("cannot mmap", tmp);
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) {
        munmap(m, kPageSize);
        cleanup();
        fail("cannot rename temp file to", path);
    }
    close(fd);  // the mapping keeps the inode
    page_ = static_cast<VmclockAbi*>(m);
}

PageWriter::~PageWriter() {
    if (page_ != nullptr) munmap(page_, kPageSize);
}

std::uint32_t PageWriter::seq_count() const {
    return std::atomic_ref<std::uint32_t>(page_->seq_count).load(std::memory_order_relaxed);
}

void PageWriter::set_header(std::uint32_t magic, std::uint16_t version, std::uint32_t size) {
    if (truncated_) return;
    VmclockAbi& p = *page_;
    std::atomic_ref<std::uint32_t> seq(p.seq_count);
    std::uint32_t s = seq.load(std::memory_order_relaxed);
    seq.store(s | 1u, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    store(p.magic, magic);
    store(p.version, version);
    store(p.size, size);
    std::atomic_thread_fence(std::memory_order_release);
    seq.store((s | 1u) + 1u, std::memory_order_relaxed);
}

void PageWriter::resize(off_t bytes) {
    int fd = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open", path_);
    if (ftruncate(fd, bytes) != 0) {
        close(fd);
        fail("cannot truncate", path_);
    }
    close(fd);
}

void PageWriter::truncate() {
    resize(0);
    truncated_ = true;  // the mapping now lies past the end of the file: touching it is SIGBUS
}

void PageWriter::restore(const VmclockAbi& v) {
    resize(kPageSize);  // zero-filled
    truncated_ = false;
    store(page_->magic, kVmclockMagic);
    store(page_->size, kPageSize);
    store(page_->version, std::uint16_t{1});
    publish(v);
}

void PageWriter::publish(const VmclockAbi& v) {
    if (truncated_) return;
    VmclockAbi& p = *page_;
    std::atomic_ref<std::uint32_t> seq(p.seq_count);
    std::uint32_t s = seq.load(std::memory_order_relaxed);
    seq.store(s | 1u, std::memory_order_relaxed);  // odd: update in progress
    // A reader that sees any of the new fields must also see the odd count.
    std::atomic_thread_fence(std::memory_order_release);

    store(p.counter_id, v.counter_id);
    store(p.time_type, v.time_type);
    store(p.disruption_marker, v.disruption_marker);
    store(p.flags, v.flags);
    store(p.clock_status, v.clock_status);
    store(p.leap_second_smearing_hint, v.leap_second_smearing_hint);
    store(p.tai_offset_sec, v.tai_offset_sec);
    store(p.leap_indicator, v.leap_indicator);
    store(p.counter_period_shift, v.counter_period_shift);
    store(p.counter_value, v.counter_value);
    store(p.counter_period_frac_sec, v.counter_period_frac_sec);
    store(p.counter_period_esterror_rate_frac_sec, v.counter_period_esterror_rate_frac_sec);
    store(p.counter_period_maxerror_rate_frac_sec, v.counter_period_maxerror_rate_frac_sec);
    store(p.time_sec, v.time_sec);
    store(p.time_frac_sec, v.time_frac_sec);
    store(p.time_esterror_nanosec, v.time_esterror_nanosec);
    store(p.time_maxerror_nanosec, v.time_maxerror_nanosec);
    store(p.vm_generation_counter, v.vm_generation_counter);

    // All fields land before the count turns even again.
    std::atomic_thread_fence(std::memory_order_release);
    seq.store((s | 1u) + 1u, std::memory_order_relaxed);
}

}  // namespace vmrefclock::sim

// Fuzz target: the vmclock page's decode and validation path. The input is the page
// file's bytes, written to a memfd and opened through /proc/self/fd, so the real
// VmclockPage::open (fstat, size checks, mmap, magic/version/size) and read() run with no
// seam. Properties beyond "no crash, no UB":
// - open() accepts exactly the pages the ABI allows (magic, version, size, file length);
// - a read of an accepted page decodes every field as the bytes say;
// - the host info and the reading agree with the fields (generation, usability);
// - the time formula is monotonic in the counter.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "sources/vmclock/abi.h"
#include "sources/vmclock/page_reader.h"
#include "sources/vmclock/time_math.h"
#include "sources/vmclock/vmclock_source.h"
#include "tests/fuzz/fuzz_check.h"

using namespace vmrefclock;
using namespace vmrefclock::vmclock;

namespace {

int page_fd() {
    static const int fd = memfd_create("vmclock-page", MFD_CLOEXEC);
    return fd;
}

template <typename T>
T field_at(const std::vector<uint8_t>& bytes, size_t offset) {
    T v{};
    if (offset + sizeof v <= bytes.size()) std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

#define FIELD(name) field_at<decltype(Abi::name)>(bytes, offsetof(Abi, name))

// One source polled for the whole run, as the daemon keeps one while the host rewrites
// its page (same file, same inode). A new source's first poll waits 20 ms to measure the
// counter's rate (VmclockSource::measure_counter): a source per input spent 20 ms of
// every input in that wait (2075 executions in 30 s).
VmclockSource& polled_source(const std::string& path) {
    static std::unique_ptr<VmclockSource> source;
    if (!source) {
        auto opened = VmclockSource::open(path);
        FUZZ_CHECK(opened.ok(), "VmclockSource refused what VmclockPage accepted");
        source = std::move(*opened);
    }
    return *source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 2 * kPageSize) return -1;
    std::vector<uint8_t> bytes(data, data + size);
    // An odd seq_count makes every read spin out its 100 ms bound (the unit tests cover
    // that); kept even here, so that the fuzzer spends its time on the decoding.
    if (bytes.size() > offsetof(Abi, seq_count)) bytes[offsetof(Abi, seq_count)] &= 0xfe;

    const int fd = page_fd();
    FUZZ_CHECK(fd >= 0, "memfd_create failed");
    FUZZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate");
    FUZZ_CHECK(pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()),
               "pwrite");
    const std::string path = "/proc/self/fd/" + std::to_string(fd);

    const size_t mapped = std::min(bytes.size(), kPageSize);
    const uint32_t size_field = FIELD(size);
    const bool valid_header = bytes.size() >= kSizeWithMaxerror && FIELD(magic) == kMagic &&
                              FIELD(version) == kVersion && size_field >= kSizeWithMaxerror &&
                              // A size field beyond the file is refused only when the file
                              // lacks fields the reader uses (header_problem): a page file
                              // with the whole struct is read up to its end.
                              (size_field <= mapped || mapped >= sizeof(Abi));
    auto page = VmclockPage::open(path);
    FUZZ_CHECK(page.ok() == valid_header, "open() " + std::string(page ? "accepted" : "refused") +
                                              " a page whose header is " +
                                              (valid_header ? "valid" : "invalid") +
                                              (page ? "" : ": " + page.error().message));
    VmclockPageProbe probe = probe_vmclock(path);
    FUZZ_CHECK(probe.exists, "probe says the page is absent");
    if (!page) {
        FUZZ_CHECK(!page.error().message.empty() && page.error().message.size() < 300,
                   page.error().message);
        return 0;
    }

    auto read = (*page)->read(true);
    FUZZ_CHECK(read.ok(), "read of a static page failed: " + read.error().message);
    const PageRead& r = *read;
    FUZZ_CHECK(r.counter_id == FIELD(counter_id) && r.time_type == FIELD(time_type) &&
                   r.disruption_marker == FIELD(disruption_marker) && r.flags == FIELD(flags) &&
                   r.clock_status == FIELD(clock_status) &&
                   r.leap_indicator == FIELD(leap_indicator) &&
                   r.tai_offset_sec == FIELD(tai_offset_sec) &&
                   r.time_esterror_ns == FIELD(time_esterror_nanosec) &&
                   r.time_maxerror_ns == FIELD(time_maxerror_nanosec) &&
                   r.calibration.counter_value == FIELD(counter_value) &&
                   r.calibration.counter_period_frac_sec == FIELD(counter_period_frac_sec) &&
                   r.calibration.counter_period_shift == FIELD(counter_period_shift) &&
                   r.calibration.time_sec == FIELD(time_sec) &&
                   r.calibration.time_frac_sec == FIELD(time_frac_sec),
               "a field was decoded differently from the bytes");
    const bool has_generation =
        size_field >= kSizeWithGeneration && (FIELD(flags) & kFlagVmGenCounterPresent);
    FUZZ_CHECK(r.has_generation == has_generation, "has_generation");
    if (has_generation) FUZZ_CHECK(r.vm_generation == FIELD(vm_generation_counter), "generation");

    const HostInfo host = vmclock_host_info(r);
    FUZZ_CHECK(host.vm_generation.has_value() == has_generation, "host vm_generation");
    FUZZ_CHECK(host.disruption_marker == r.disruption_marker, "host marker");
    const std::string unusable = vmclock_unusable_reason(r);
    FUZZ_CHECK(probe.error.empty() && probe.marker_only == !unusable.empty(), "probe");

    // The reading at the real counter, and at counters all around counter_value.
    std::optional<Reading> now = vmclock_reading(r);
    FUZZ_CHECK(!now || unusable.empty(), "a reading from an unusable page");
    const uint64_t base = r.calibration.counter_value;
    const uint64_t deltas[] = {0, 1, 1000, 1ull << 20, 1ull << 32, 1ull << 40, 1ull << 63};
    std::vector<uint64_t> counters = {0, UINT64_MAX, r.counter};
    for (uint64_t d : deltas) {
        counters.push_back(base + d);
        counters.push_back(base - d);
    }
    std::sort(counters.begin(), counters.end());
    std::optional<int64_t> previous;
    for (uint64_t c : counters) {
        PageRead at = r;
        at.counter = c;
        std::optional<Reading> reading = vmclock_reading(at);
        FUZZ_CHECK(!reading || unusable.empty(), "a reading from an unusable page");
        const std::optional<int64_t> t = counter_to_ns(r.calibration, c);
        if (t && previous) {
            FUZZ_CHECK(*t >= *previous,
                       "time went backwards as the counter grew: " + std::to_string(*previous) +
                           " then " + std::to_string(*t) + " at " + std::to_string(c));
        }
        if (t) previous = t;
    }

    // The source's own poll through the same file, a fresh open and the long-lived source.
    FUZZ_CHECK(VmclockSource::open(path).ok(), "VmclockSource refused what VmclockPage accepted");
    auto batch = polled_source(path).poll(2);
    FUZZ_CHECK(batch.ok(), "poll of a static page failed: " + batch.error().message);
    FUZZ_CHECK(batch->unusable_reason.empty() || batch->readings.empty(),
               "readings beside an unusable reason");
    FUZZ_CHECK(batch->host.has_value(), "a page poll without host info");
    return 0;
}

#include "ipc/clockbound/clockbound_writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace vmrefclock {

namespace {

constexpr int64_t kNsPerS = 1'000'000'000;

static_assert(static_cast<int32_t>(BoundStatus::unknown) == VMR_CB_STATUS_UNKNOWN);
static_assert(static_cast<int32_t>(BoundStatus::synchronized) == VMR_CB_STATUS_SYNCHRONIZED);
static_assert(static_cast<int32_t>(BoundStatus::free_running) == VMR_CB_STATUS_FREE_RUNNING);
static_assert(static_cast<int32_t>(BoundStatus::disrupted) == VMR_CB_STATUS_DISRUPTED);
static_assert(TimeBound::kMaxDriftPpb < VMR_CB_MAX_DRIFT_PPB_LIMIT);
static_assert(TimeBound::kUnknownBoundNs == VMR_CB_UNKNOWN_BOUND_NS);

vmr_cb_timespec to_cb(int64_t ns) {
    return {ns / kNsPerS, ns % kNsPerS};
}

// A valid v2 segment by the reader's rules: one a ClockBound client accepts.
bool valid_segment(const vmr_cb_segment& s, off_t file_size) {
    return file_size >= static_cast<off_t>(VMR_CB_SEGSIZE) && s.magic[0] == VMR_CB_MAGIC0 &&
           s.magic[1] == VMR_CB_MAGIC1 && s.segsize >= VMR_CB_SEGSIZE &&
           s.version == VMR_CB_VERSION && s.generation != 0 && (s.generation & 1) == 0;
}

Error path_error(const std::string& path, const std::string& what, int e) {
    return errno_error("clockbound segment " + path + ": " + what, e);
}

int64_t coarse_now_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return int64_t{t.tv_sec} * kNsPerS + t.tv_nsec;
}

// A valid segment written in the last few seconds, whose lock nobody holds, is either
// ours from a run that just ended or another writer's that takes no lock (AWS's
// clockbound-d updates once a second). Watching its generation tells them apart.
bool written_by_someone_else(int fd, const vmr_cb_segment& existing) {
    const int64_t as_of = existing.body.as_of.tv_sec * kNsPerS + existing.body.as_of.tv_nsec;
    const int64_t age = coarse_now_ns() - as_of;
    if (age < 0 || age > ClockBoundWriter::kLiveWriterAgeNs) return false;
    for (int64_t waited = 0; waited < ClockBoundWriter::kLiveWriterWatchNs; waited += 50'000'000) {
        const timespec step{0, 50'000'000};
        nanosleep(&step, nullptr);
        uint16_t generation = 0;
        if (pread(fd, &generation, sizeof generation, 14) != 2) return false;
        if (generation != existing.generation) return true;
    }
    return false;
}

}  // namespace

Result<std::unique_ptr<ClockBoundWriter>> ClockBoundWriter::open(const std::string& path) {
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent, ec);
        if (ec) return path_error(path, "cannot create " + parent.string(), ec.value());
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return path_error(path, "cannot open", errno);
    auto fail = [fd](Error e) {
        close(fd);
        return e;
    };
    // Two writers on one path would interleave generations and bounds: the second one
    // refuses to start. (The lock dies with the process, so a crash leaves none behind.)
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        if (e == EWOULDBLOCK) {
            return fail(make_error("clockbound segment " + path +
                                   " is locked by another writer (another vmrefclockd?); "
                                   "set [clockbound] path to a different file"));
        }
        return fail(path_error(path, "flock", e));
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) return fail(path_error(path, "fstat", errno));
    if (!S_ISREG(st.st_mode)) {
        return fail(make_error("clockbound segment " + path + " is not a regular file"));
    }
    vmr_cb_segment existing{};
    const ssize_t got = pread(fd, &existing, sizeof existing, 0);
    if (got < 0) return fail(path_error(path, "read", errno));
    const bool warm =
        got == static_cast<ssize_t>(sizeof existing) && valid_segment(existing, st.st_size);
    if (warm && written_by_someone_else(fd, existing)) {
        return fail(make_error("clockbound segment " + path +
                               " is being written by another process (clockbound-d?) that "
                               "holds no lock; stop it or set [clockbound] path elsewhere"));
    }
    if (!warm) {
        // As ClockBound's writer: the header with version 0 and generation 0 (readers
        // treat it as not usable yet), the rest zero, exactly 80 bytes.
        vmr_cb_segment fresh{};
        fresh.magic[0] = VMR_CB_MAGIC0;
        fresh.magic[1] = VMR_CB_MAGIC1;
        fresh.segsize = VMR_CB_SEGSIZE;
        if (ftruncate(fd, 0) != 0) return fail(path_error(path, "truncate", errno));
        if (pwrite(fd, &fresh, sizeof fresh, 0) != static_cast<ssize_t>(sizeof fresh)) {
            return fail(path_error(path, "write", errno));
        }
    }
    void* map = mmap(nullptr, sizeof(vmr_cb_segment), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return fail(path_error(path, "mmap", errno));
    auto* segment = static_cast<vmr_cb_segment*>(map);
    // Defines the layout; with a fresh segment it is still unusable (generation 0)
    // until the first publish.
    __atomic_store_n(&segment->version, static_cast<uint16_t>(VMR_CB_VERSION), __ATOMIC_RELEASE);
    timespec res{};
    clock_getres(CLOCK_MONOTONIC_COARSE, &res);
    const int64_t res_ns = int64_t{res.tv_sec} * kNsPerS + res.tv_nsec;
    return std::unique_ptr<ClockBoundWriter>(new ClockBoundWriter(path, fd, segment, warm, res_ns));
}

ClockBoundWriter::ClockBoundWriter(std::string path, int fd, vmr_cb_segment* segment, bool warm,
                                   int64_t coarse_res_ns)
    : path_(std::move(path)),
      fd_(fd),
      segment_(segment),
      warm_(warm),
      coarse_res_ns_(coarse_res_ns) {}

ClockBoundWriter::~ClockBoundWriter() {
    // The segment stays: readers see it age (FreeRunning after 5 s, Unknown after
    // void_after), and a restarted daemon picks it up again.
    munmap(segment_, sizeof(vmr_cb_segment));
    close(fd_);
}

void ClockBoundWriter::write_body(const vmr_cb_body& body) {
    uint16_t generation = __atomic_load_n(&segment_->generation, __ATOMIC_ACQUIRE);
    // A writer that died mid-update left it odd: enter the update odd all the same.
    if ((generation & 1) == 0) ++generation;
    __atomic_store_n(&segment_->generation, generation, __ATOMIC_RELEASE);
    // The odd generation must be visible before any byte of the body changes.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    std::memcpy(&segment_->body, &body, sizeof body);
    ++generation;
    if (generation == 0) generation = 2;  // 0 means "never written": skipped on wrap
    __atomic_store_n(&segment_->generation, generation, __ATOMIC_RELEASE);
}

BoundInput bound_input(const SinkUpdate& update) {
    BoundInput in;
    in.fed_chrony = update.fed_clock;
    in.now_coarse_mono_ns = update.now_coarse_mono_ns;
    in.state = update.state;
    in.disruptions = update.disruptions;
    if (update.measured != nullptr && update.estimate != nullptr) {
        const Estimate& estimate = *update.estimate;
        BoundMeasurement m;
        m.offset_ns = estimate.offset_ns;
        m.error_ns = estimate.worst_case_bound_ns.value_or(estimate.error_bound_ns);
        m.age_ns = update.now_real_ns - estimate.time_ns;
        m.frequency_ppm = estimate.frequency_ppm;
        m.frequency_stddev_ppm = estimate.frequency_stddev_ppm;
        in.fresh = m;
    }
    in.disruption_marker = update.disruption_marker;
    return in;
}

Status ClockBoundWriter::deliver(const SinkUpdate& update) {
    publish(bound_input(update));
    return Ok{};
}

SinkStatus ClockBoundWriter::status() const {
    return SinkStatus{"clockbound", path_, "writing", true, std::nullopt, published_, std::nullopt};
}

void ClockBoundWriter::publish(const BoundInput& in) {
    ++published_;
    TimeBoundInput t;
    t.now_coarse_mono_ns = in.now_coarse_mono_ns;
    t.coarse_resolution_ns = coarse_res_ns_;
    // starting with a bound cannot happen; unusable: the host says its clock is
    // unreliable, or gives no UTC: nothing to bound against.
    t.host_usable = in.state != DaemonState::unusable && in.state != DaemonState::starting;
    t.holdoff = in.state == DaemonState::holdoff;
    t.fed_chrony = in.fed_chrony;
    t.disruptions = in.disruptions;
    t.fresh = in.fresh;
    const PublishedBound& b = bound_.update(t);
    vmr_cb_body body{};
    body.as_of = to_cb(b.as_of_coarse_mono_ns);
    body.void_after = to_cb(b.as_of_coarse_mono_ns + kVoidAfterNs);
    body.bound_nsec = b.bound_ns;
    body.max_drift_ppb = b.max_drift_ppb;
    body.clock_status = static_cast<int32_t>(b.status);
    body.disruption_marker = in.disruption_marker.value_or(0);
    body.clock_disruption_support_enabled = in.disruption_marker ? 1 : 0;
    write_body(body);
    last_ = body;
}

}  // namespace vmrefclock

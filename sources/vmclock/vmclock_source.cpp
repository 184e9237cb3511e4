#include "sources/vmclock/vmclock_source.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "sources/system_clock.h"
#include "sources/vmclock/counter.h"

namespace vmrefclock {

using namespace vmclock;

namespace {

// True unless a cheap read of the page shows exactly the signals of the last full read.
bool signals_changed(const VmclockPage& page, const std::optional<PageSignals>& last) {
    PageSignals now;
    return !last || !page.read_signals(now) || now != *last;
}

}  // namespace

std::string vmclock_unusable_reason(const PageRead& r) {
    if (r.counter_id == kCounterInvalid) {
        return "marker-only page (counter_id 0xff): disruption signals, no time";
    }
    if (r.counter_id != kCpuCounterId) {
        return "page counter_id " + std::to_string(r.counter_id) + " is not this CPU's counter (" +
               std::to_string(kCpuCounterId) + ")";
    }
    if (r.calibration.counter_period_frac_sec == 0) return "counter_period_frac_sec is 0";
    switch (r.time_type) {
        case kTimeUtc:
            return "";
        case kTimeTai:
            if (!(r.flags & kFlagTaiOffsetValid)) {
                return "time type TAI without a valid tai_offset_sec: not usable as UTC";
            }
            return "";
        case kTimeMonotonic:
            return "time type MONOTONIC: not usable as UTC";
        case kTimeSmeared:
        case kTimeMaybeSmeared:
            return "time type " + std::to_string(r.time_type) + " (smeared): not usable as UTC";
        default:
            return "unknown time type " + std::to_string(r.time_type) + ": not usable as UTC";
    }
}

Leap vmclock_leap(uint8_t leap_indicator) {
    switch (leap_indicator) {
        case kLeapPrePositive:
            return Leap::insert;
        case kLeapPreNegative:
            return Leap::remove;
        default:
            return Leap::none;
    }
}

HostInfo vmclock_host_info(const PageRead& r) {
    HostInfo h;
    h.disruption_marker = r.disruption_marker;
    if (r.has_generation) h.vm_generation = r.vm_generation;
    h.clock_status =
        r.clock_status <= 4 ? static_cast<ClockStatus>(r.clock_status) : ClockStatus::unknown;
    h.flags = r.flags;
    h.leap_indicator = r.leap_indicator;
    h.leap = vmclock_leap(r.leap_indicator);
    if (r.flags & kFlagTimeEsterrorValid) h.time_esterror_ns = r.time_esterror_ns;
    // The field exists on every page open() accepts (its size check).
    if (r.flags & kFlagTimeMaxerrorValid) {
        h.time_maxerror_ns = r.time_maxerror_ns;
    }
    h.maintenance = (r.flags & kFlagDisruptionImminent) ? Maintenance::imminent
                    : (r.flags & kFlagDisruptionSoon)   ? Maintenance::soon
                                                        : Maintenance::none;
    return h;
}

std::optional<Reading> vmclock_reading(const PageRead& r) {
    if (!r.counter_read || !vmclock_unusable_reason(r).empty()) return std::nullopt;
    std::optional<int64_t> t = counter_to_ns(r.calibration, r.counter);
    if (!t) return std::nullopt;
    int64_t utc_ns = *t;
    // A TAI time near the end of int64's range plus an offset of up to +-32767 s may not fit:
    // not representable, so unusable (issue 9: was signed overflow).
    if (r.time_type == kTimeTai &&
        __builtin_add_overflow(utc_ns, static_cast<int64_t>(r.tai_offset_sec) * 1'000'000'000,
                               &utc_ns)) {
        return std::nullopt;
    }
    return Reading{r.sys_pre_ns, utc_ns, r.sys_post_ns};
}

Result<std::unique_ptr<VmclockSource>> VmclockSource::open(const std::string& path) {
    auto page = VmclockPage::open(path);
    if (!page) return page.error();
    return std::unique_ptr<VmclockSource>(new VmclockSource(std::move(*page)));
}

double vmclock_counter_period_s(const CounterCalibration& calibration) {
    return std::ldexp(static_cast<double>(calibration.counter_period_frac_sec),
                      -(64 + static_cast<int>(calibration.counter_period_shift)));
}

Status follow_replaced_page(std::unique_ptr<VmclockPage>& page) {
    Result<bool> current = page->still_current();
    if (!current) return current.error();
    if (*current) return Ok{};
    auto fresh = VmclockPage::open(page->path());
    if (!fresh) {
        return make_error(
            "the path now names another file, which cannot be used: " + fresh.error().message,
            fresh.error().code);
    }
    spdlog::info("{}: the path names another file now (replaced): re-opened", page->path());
    page = std::move(*fresh);
    return Ok{};
}

void VmclockSource::measure_counter() {
    auto take = [this] {
        // The tightest of three brackets: a preempted one would widen the uncertainty.
        int64_t best_before = 0, best_after = INT64_MAX / 2;
        uint64_t best_counter = 0;
        for (int i = 0; i < 3; ++i) {
            const int64_t before = read_clock_ns(CLOCK_MONOTONIC_RAW);
            const uint64_t counter = read_cpu_counter();
            const int64_t after = read_clock_ns(CLOCK_MONOTONIC_RAW);
            if (after - before < best_after - best_before) {
                best_before = before;
                best_after = after;
                best_counter = counter;
            }
        }
        meter_.add(best_before, best_counter, best_after);
    };
    take();
    const int64_t span = meter_.span_ns();
    if (span < kMinMeasurementNs && !meter_.rate()) {
        // The first poll: the gate needs a rate to judge this very batch.
        const int64_t wait = kMinMeasurementNs - span;
        timespec ts{static_cast<time_t>(wait / 1'000'000'000),
                    static_cast<long>(wait % 1'000'000'000)};
        nanosleep(&ts, nullptr);
        take();
    }
}

Status VmclockSource::poll_into(int readings, Batch& batch) {
    if (Status s = follow_replaced_page(page_); !s) return s.error();
    measure_counter();
    batch.clear();
    last_signals_.reset();
    std::optional<uint64_t> marker;
    const std::optional<CounterRateMeter::Rate> rate = meter_.rate();
    double worst = -1;  // |log(period * measured rate)| of the read farthest off
    std::optional<PageRead> last;
    for (int i = 0; i < readings; ++i) {
        auto read = page_->read(true);
        if (!read) return read.error();
        if (marker && *marker != read->disruption_marker) batch.readings.clear();
        marker = read->disruption_marker;
        last = *read;
        if (std::string why = vmclock_unusable_reason(*read); !why.empty()) {
            batch.unusable_reason = std::move(why);
            batch.readings.clear();
            break;  // nothing more to learn from this poll
        }
        if (rate) {
            const double period = vmclock_counter_period_s(read->calibration);
            const double off = std::abs(std::log(period * rate->hz));
            if (!(off <= worst)) {  // NaN and inf count as farthest
                worst = std::isnan(off) ? INFINITY : off;
                batch.counter_rate = CounterRateCheck{period, rate->hz, rate->uncertainty};
            }
        }
        if (auto reading = vmclock_reading(*read)) batch.readings.push_back(*reading);
    }
    if (last) {
        // The host's metadata as of the last read, as the readings kept are of its marker.
        batch.host = vmclock_host_info(*last);
        last_signals_ = last->signals;
    }
    if (batch.unusable_reason.empty() && batch.readings.empty() && readings > 0) {
        batch.unusable_reason = "page time not representable (counter too far from counter_value)";
    }
    if (!batch.unusable_reason.empty()) batch.counter_rate.reset();
    return Ok{};
}

bool VmclockSource::host_signals_changed() {
    return signals_changed(*page_, last_signals_);
}

std::string VmclockSource::describe() const {
    return "vmclock " + page_->path();
}

Result<std::unique_ptr<VmclockSignal>> VmclockSignal::open(const std::string& path,
                                                           const std::string& stand_in) {
    auto page = VmclockPage::open(path);
    if (!page) return page.error();
    int fd = -1;
    if (!stand_in.empty()) {
        // Read-write: a FIFO opened so never blocks on open and never hangs up.
        fd = ::open(stand_in.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return errno_error("cannot open notification FIFO " + stand_in, errno);
    }
    return std::unique_ptr<VmclockSignal>(new VmclockSignal(std::move(*page), fd));
}

VmclockSignal::~VmclockSignal() {
    if (stand_in_fd_ >= 0) ::close(stand_in_fd_);
}

Result<HostInfo> VmclockSignal::read_host() {
    last_signals_.reset();
    if (Status s = follow_replaced_page(page_); !s) return s.error();
    auto read = page_->read(false);
    if (!read) return read.error();
    last_signals_ = read->signals;
    return vmclock_host_info(*read);
}

bool VmclockSignal::host_signals_changed() {
    return signals_changed(*page_, last_signals_);
}

int VmclockSignal::notification_fd() {
    auto read = page_->read(false);
    if (!read || !(read->flags & vmclock::kFlagNotificationPresent)) return -1;
    return stand_in_fd_ >= 0 ? stand_in_fd_ : page_->fd();
}

void VmclockSignal::acknowledge_notification() {
    // The driver's read() records the seq_count it copied; pread keeps the file offset
    // at 0 so every acknowledgement reads the page again.
    if (stand_in_fd_ >= 0) {
        char drained[64];
        while (::read(stand_in_fd_, drained, sizeof drained) > 0) {
        }
        return;
    }
    vmclock::Abi copy{};
    [[maybe_unused]] ssize_t n = pread(page_->fd(), &copy, sizeof copy, 0);
}

VmclockPageProbe probe_vmclock(const std::string& path) {
    VmclockPageProbe probe;
    auto page = VmclockPage::open(path);
    if (!page) {
        probe.exists = page.error().code != ENOENT;
        if (probe.exists) probe.error = page.error().message;
        return probe;
    }
    probe.exists = true;
    auto read = (*page)->read(false);
    if (!read) {
        probe.error = read.error().message;
        return probe;
    }
    probe.marker_only = !vmclock_unusable_reason(*read).empty();
    return probe;
}

}  // namespace vmrefclock

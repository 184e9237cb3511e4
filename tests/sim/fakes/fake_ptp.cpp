#include "tests/sim/fakes/fake_ptp.h"

#include <linux/ptp_clock.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <utility>

namespace vmrefclock::fake {
namespace {

ptp_clock_time to_kernel_time(int64_t ns) {
    ptp_clock_time t{};
    t.sec = ns / 1'000'000'000;
    int64_t rem = ns % 1'000'000'000;
    if (rem < 0) {
        rem += 1'000'000'000;
        --t.sec;
    }
    t.nsec = static_cast<uint32_t>(rem);
    return t;
}

// CLOCK_MONOTONIC_RAW in the fake: the system clock less a fixed boot epoch.
constexpr int64_t kBootEpochNs = 1'799'990'000'000'000'000;

}  // namespace

double HostClockModel::offset_at(int64_t sys_ns) const {
    return offset_ns_ + frequency_ppm_ * 1e-6 * static_cast<double>(sys_ns - anchor_sys_ns_);
}

int64_t HostClockModel::reference_at(int64_t sys_ns) const {
    return sys_ns + static_cast<int64_t>(std::llround(offset_at(sys_ns)));
}

void HostClockModel::set_offset_ns(double ns, int64_t at_sys_ns) {
    offset_ns_ = ns;
    anchor_sys_ns_ = at_sys_ns;
}

void HostClockModel::set_frequency_ppm(double ppm, int64_t at_sys_ns) {
    offset_ns_ = offset_at(at_sys_ns);
    anchor_sys_ns_ = at_sys_ns;
    frequency_ppm_ = ppm;
}

FakePtpProfile FakePtpProfile::kvm_on_tsc() {
    FakePtpProfile p;
    p.clock_name = "KVM virtual PTP";
    p.cross_timestamping_cap = 1;
    p.precise_errno = ENODEV;
    p.extended_errno = EOPNOTSUPP;
    return p;
}

FakePtpProfile FakePtpProfile::kvm_on_kvm_clock() {
    FakePtpProfile p = kvm_on_tsc();
    p.precise_errno = 0;
    return p;
}

FakePtpProfile FakePtpProfile::vmclock_phc() {
    FakePtpProfile p;
    p.clock_name = "vmclock0";
    return p;
}

FakePtpProfile FakePtpProfile::old_kernel() {
    FakePtpProfile p;
    p.clock_name = "ena-ptp-00";
    p.cross_timestamping_cap = 0;
    p.precise_errno = EOPNOTSUPP;
    p.extended_clockid_field = false;
    return p;
}

FakePtpProfile FakePtpProfile::pre_v2_kernel() {
    FakePtpProfile p = old_kernel();
    p.v2_requests = false;
    return p;
}

FakePtpDeviceIo::FakePtpDeviceIo(FakePtpProfile profile, std::shared_ptr<FakeSystemClock> clock,
                                 std::string path, uint64_t seed)
    : profile_(std::move(profile)), clock_(std::move(clock)), path_(std::move(path)), rng_(seed) {}

double FakePtpDeviceIo::uniform() {
    return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0);
}

Result<int> FakePtpDeviceIo::open(const std::string& path) {
    if (path != path_ || !present_) {
        return make_error("open " + path + ": " + std::strerror(ENOENT), ENOENT);
    }
    ++opens_;
    int fd = next_fd_++;
    fds_[fd] = instance_;
    return fd;
}

void FakePtpDeviceIo::close(int fd) {
    fds_.erase(fd);
}

void FakePtpDeviceIo::vanish(int err) {
    present_ = false;
    vanished_errno_ = err;
}

void FakePtpDeviceIo::come_back() {
    present_ = true;
    ++instance_;
}

void FakePtpDeviceIo::fail_next_ioctls(int count, int err, int after) {
    fail_skip_ = after;
    fail_count_ = count;
    fail_errno_ = err;
}

int FakePtpDeviceIo::ioctl(int fd, unsigned long request, void* arg) {
    Call call;
    call.request = request;
    auto it = fds_.find(fd);
    if (it == fds_.end()) {
        call.result = -EBADF;
    } else if (!present_ || it->second != instance_) {
        call.result = -vanished_errno_;  // a defunct clock answers every call so
    } else if (fail_count_ > 0 && fail_skip_ == 0) {
        --fail_count_;
        call.result = -fail_errno_;
    } else {
        if (fail_skip_ > 0) --fail_skip_;
        call.result = dispatch(request, arg, call);
    }
    calls_.push_back(call);
    return call.result;
}

int FakePtpDeviceIo::dispatch(unsigned long request, void* arg, Call& call) {
    // The kernel's own request numbers, from its header, independent of ptp_abi.h.
    const bool v2 = request == PTP_CLOCK_GETCAPS2 || request == PTP_SYS_OFFSET2 ||
                    request == PTP_SYS_OFFSET_PRECISE2 || request == PTP_SYS_OFFSET_EXTENDED2;
    if (v2 && !profile_.v2_requests) return -ENOTTY;
    if (request == PTP_CLOCK_GETCAPS || request == PTP_CLOCK_GETCAPS2) return do_getcaps(arg);
    if (request == PTP_SYS_OFFSET_PRECISE || request == PTP_SYS_OFFSET_PRECISE2) {
        return do_precise(arg);
    }
    if (request == PTP_SYS_OFFSET_EXTENDED || request == PTP_SYS_OFFSET_EXTENDED2) {
        return do_extended(arg, call);
    }
    if (request == PTP_SYS_OFFSET || request == PTP_SYS_OFFSET2) return do_basic(arg, call);
    return -ENOTTY;
}

int FakePtpDeviceIo::do_getcaps(void* arg) {
    ptp_clock_caps caps{};
    caps.max_adj = 500'000;
    caps.cross_timestamping = profile_.cross_timestamping_cap;
    std::memcpy(arg, &caps, sizeof caps);
    return 0;
}

int FakePtpDeviceIo::do_precise(void* arg) {
    if (profile_.precise_errno != 0) return -profile_.precise_errno;
    ptp_sys_offset_precise out{};
    const int64_t sys = clock_->now_ns();
    // A cross-timestamp reads both clocks at one instant: only the device's own noise.
    const double noise = (uniform() - 0.5) * 2.0 * static_cast<double>(delays_.phc_noise_ns);
    out.device = to_kernel_time(host_.reference_at(sys) + static_cast<int64_t>(noise));
    out.sys_realtime = to_kernel_time(sys);
    out.sys_monoraw = to_kernel_time(sys - kBootEpochNs);
    std::memcpy(arg, &out, sizeof out);
    clock_->advance(delays_.base_ns);  // the call still takes time
    return 0;
}

FakePtpDeviceIo::Triple FakePtpDeviceIo::take_reading() {
    int64_t delay = delays_.base_ns + static_cast<int64_t>(uniform() * delays_.jitter_ns);
    if (delays_.spike_probability > 0 && uniform() < delays_.spike_probability) {
        delay += static_cast<int64_t>(uniform() * static_cast<double>(delays_.spike_max_ns));
    }
    Triple t{};
    t.pre = clock_->now_ns();
    // The device is read somewhere inside the bracket; where is unknown to the caller.
    const int64_t at = t.pre + static_cast<int64_t>(uniform() * static_cast<double>(delay));
    const double noise = (uniform() - 0.5) * 2.0 * static_cast<double>(delays_.phc_noise_ns);
    t.phc = host_.reference_at(at) + static_cast<int64_t>(noise);
    clock_->advance(delay);
    if (pending_system_step_ns_ != 0) {
        clock_->advance(pending_system_step_ns_);  // the guest's clock steps mid-read
        pending_system_step_ns_ = 0;
    }
    t.post = clock_->now_ns();
    return t;
}

int FakePtpDeviceIo::do_extended(void* arg, Call& call) {
    if (profile_.extended_errno != 0) return -profile_.extended_errno;
    ptp_sys_offset_extended req;
    std::memcpy(&req, arg, sizeof req);
    // Byte 4..7: `clockid` on 6.12+, rsv[0] before; read by offset so that this works
    // with either version of the header.
    int32_t clockid = 0;
    std::memcpy(&clockid, reinterpret_cast<const char*>(&req) + 4, sizeof clockid);
    uint32_t rsv12[2];
    std::memcpy(rsv12, reinterpret_cast<const char*>(&req) + 8, sizeof rsv12);
    call.extended_clockid = clockid;
    call.n_samples = req.n_samples;
    if (req.n_samples > PTP_MAX_SAMPLES || rsv12[0] != 0 || rsv12[1] != 0) return -EINVAL;
    if (profile_.extended_clockid_field) {
        if (clockid != CLOCK_REALTIME && clockid != CLOCK_MONOTONIC &&
            clockid != CLOCK_MONOTONIC_RAW) {
            return -EINVAL;
        }
    } else if (clockid != 0) {
        return -EINVAL;
    }
    // The fake's system timestamps are all REALTIME-like; a MONOTONIC request is only
    // honoured as far as the ABI goes (PtpSource never asks for one).
    for (unsigned i = 0; i < req.n_samples; ++i) {
        Triple t = take_reading();
        req.ts[i][0] = to_kernel_time(t.pre);
        req.ts[i][1] = to_kernel_time(t.phc);
        req.ts[i][2] = to_kernel_time(t.post);
        clock_->advance(100);  // loop overhead between triples
    }
    std::memcpy(arg, &req, sizeof req);
    return 0;
}

int FakePtpDeviceIo::do_basic(void* arg, Call& call) {
    ptp_sys_offset req;
    std::memcpy(&req, arg, sizeof req);
    call.n_samples = req.n_samples;
    if (req.n_samples > PTP_MAX_SAMPLES) return -EINVAL;
    // The kernel reads sys, phc, sys, phc, ..., sys: each system timestamp is both the
    // post of one reading and the pre of the next.
    req.ts[0] = to_kernel_time(clock_->now_ns());
    for (unsigned i = 0; i < req.n_samples; ++i) {
        Triple t = take_reading();
        req.ts[2 * i + 1] = to_kernel_time(t.phc);
        req.ts[2 * i + 2] = to_kernel_time(t.post);
    }
    std::memcpy(arg, &req, sizeof req);
    return 0;
}

}  // namespace vmrefclock::fake

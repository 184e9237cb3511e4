#include "sources/ptp/ptp_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

namespace vmrefclock {
namespace {

std::string errno_text(int err) {
    return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
}

// Errors that mean "this device does not do that method", so the probe moves on.
// PRECISE: EOPNOTSUPP (driver has no getcrosststamp) or ENODEV (ptp_kvm on a guest whose
// clocksource is not kvm-clock, although GETCAPS says cross_timestamping = 1).
// EXTENDED: EOPNOTSUPP (no gettimex64, e.g. ptp_kvm). Both: ENOTTY (kernel too old for
// the request at all) and EINVAL (a request the kernel does not accept as we filled it).
// Anything else (EIO, ENXIO, ...) is the device failing, not the method.
bool method_unsupported(PtpMethod method, int err) {
    if (err == EOPNOTSUPP || err == ENOTTY || err == EINVAL) return true;
    return method == PtpMethod::precise && err == ENODEV;
}

const char* hint(PtpMethod method, int err) {
    if (method == PtpMethod::precise && err == ENODEV) {
        return "; ptp_kvm can cross-timestamp only when the guest clocksource is kvm-clock";
    }
    if (method == PtpMethod::extended && err == EOPNOTSUPP) {
        return "; the driver has no gettimex64 (ptp_kvm has none)";
    }
    return "";
}

}  // namespace

const char* to_string(PtpMethod method) {
    switch (method) {
        case PtpMethod::automatic:
            return "auto";
        case PtpMethod::precise:
            return "precise";
        case PtpMethod::extended:
            return "extended";
        case PtpMethod::basic:
            return "basic";
    }
    return "unknown";
}

std::optional<PtpMethod> parse_ptp_method(std::string_view text) {
    for (PtpMethod m :
         {PtpMethod::automatic, PtpMethod::precise, PtpMethod::extended, PtpMethod::basic}) {
        if (text == to_string(m)) return m;
    }
    return std::nullopt;
}

PtpSource::PtpSource(std::shared_ptr<PtpDeviceIo> io, PtpSourceOptions options)
    : io_(std::move(io)), options_(std::move(options)) {}

PtpSource::~PtpSource() {
    close_device();
}

Result<std::unique_ptr<PtpSource>> PtpSource::open(std::shared_ptr<PtpDeviceIo> io,
                                                   PtpSourceOptions options) {
    std::unique_ptr<PtpSource> source(new PtpSource(std::move(io), std::move(options)));
    Status status = source->open_and_probe();
    if (!status) return status.error();
    spdlog::info("{}: caps cross_timestamping={} max_adj={}ppb", source->describe(),
                 source->caps_.cross_timestamping, source->caps_.max_adj);
    return source;
}

void PtpSource::close_device() {
    if (fd_ >= 0) io_->close(fd_);
    fd_ = -1;
    method_ = PtpMethod::automatic;
}

int PtpSource::ioctl_v2_or_v1(unsigned long v2, unsigned long v1, bool* use_v1, void* arg) {
    if (!*use_v1) {
        int rc = io_->ioctl(fd_, v2, arg);
        if (rc != -ENOTTY) return rc;
    }
    int rc = io_->ioctl(fd_, v1, arg);
    // Only a success proves the original number is the one to keep using.
    if (rc == 0) *use_v1 = true;
    return rc;
}

Status PtpSource::open_and_probe() {
    const std::string& path = options_.path;
    Result<int> fd = io_->open(path);
    if (!fd) return make_error("ptp " + path + ": " + fd.error().message, fd.error().code);
    fd_ = *fd;
    // The v1/v2 choice is per device instance: a re-opened device may be a new kernel.
    caps_v1_ = precise_v1_ = extended_v1_ = basic_v1_ = false;

    caps_ = {};
    int rc = ioctl_v2_or_v1(ptp_abi::kGetCaps2, ptp_abi::kGetCaps, &caps_v1_, &caps_);
    if (rc < 0) {
        close_device();
        return make_error("ptp " + path + ": PTP_CLOCK_GETCAPS: " + errno_text(-rc), -rc);
    }

    if (options_.method != PtpMethod::automatic) {
        rc = try_method(options_.method);
        if (rc < 0) {
            close_device();
            return make_error("ptp " + path + ": method " + to_string(options_.method) +
                                  " refused by the device: " + errno_text(-rc) +
                                  hint(options_.method, -rc),
                              -rc);
        }
        method_ = last_method_ = options_.method;
        return Ok{};
    }

    std::string tried;
    for (PtpMethod m : {PtpMethod::precise, PtpMethod::extended, PtpMethod::basic}) {
        rc = try_method(m);
        if (rc == 0) {
            if (!tried.empty()) spdlog::debug("ptp {}: {}", path, tried);
            method_ = last_method_ = m;
            return Ok{};
        }
        tried += std::string(tried.empty() ? "" : ", ") + to_string(m) + ": " + errno_text(-rc) +
                 hint(m, -rc);
        if (m == PtpMethod::basic || !method_unsupported(m, -rc)) break;
    }
    close_device();
    return make_error("ptp " + path + ": no usable method (" + tried + ")", -rc);
}

int PtpSource::try_method(PtpMethod method) {
    Batch scratch;
    switch (method) {
        case PtpMethod::precise:
            return read_precise(scratch);
        case PtpMethod::extended:
            return read_extended(1, scratch);
        case PtpMethod::basic:
            return read_basic(1, scratch);
        case PtpMethod::automatic:
            break;
    }
    return -EINVAL;
}

int PtpSource::read_precise(Batch& batch) {
    ptp_abi::SysOffsetPrecise req{};
    int rc =
        ioctl_v2_or_v1(ptp_abi::kSysOffsetPrecise2, ptp_abi::kSysOffsetPrecise, &precise_v1_, &req);
    if (rc < 0) return rc;
    const int64_t sys = ptp_abi::to_ns(req.sys_realtime);
    batch.readings.push_back(Reading{sys, ptp_abi::to_ns(req.device), sys});
    return 0;
}

int PtpSource::read_extended(int n, Batch& batch) {
    ptp_abi::SysOffsetExtended req{};
    req.n_samples = static_cast<uint32_t>(n);
    // CLOCK_REALTIME is 0, the value every kernel since EXTENDED exists accepts in this
    // field (pre-6.12 kernels call it rsv[0] and answer EINVAL to anything non-zero).
    // So the "retry with 0 on EINVAL" that a non-REALTIME clockid would need never
    // arises; an EINVAL here means EXTENDED is unusable and the probe moves on.
    req.clockid = CLOCK_REALTIME;
    static_assert(CLOCK_REALTIME == 0);
    int rc = ioctl_v2_or_v1(ptp_abi::kSysOffsetExtended2, ptp_abi::kSysOffsetExtended,
                            &extended_v1_, &req);
    if (rc < 0) return rc;
    const int got = std::min<int>(n, static_cast<int>(req.n_samples));
    for (int i = 0; i < got; ++i) {
        batch.readings.push_back(Reading{ptp_abi::to_ns(req.ts[i][0]), ptp_abi::to_ns(req.ts[i][1]),
                                         ptp_abi::to_ns(req.ts[i][2])});
    }
    return 0;
}

int PtpSource::read_basic(int n, Batch& batch) {
    ptp_abi::SysOffset req{};
    req.n_samples = static_cast<uint32_t>(n);
    int rc = ioctl_v2_or_v1(ptp_abi::kSysOffset2, ptp_abi::kSysOffset, &basic_v1_, &req);
    if (rc < 0) return rc;
    const int got = std::min<int>(n, static_cast<int>(req.n_samples));
    for (int i = 0; i < got; ++i) {
        batch.readings.push_back(Reading{ptp_abi::to_ns(req.ts[2 * i]),
                                         ptp_abi::to_ns(req.ts[2 * i + 1]),
                                         ptp_abi::to_ns(req.ts[2 * i + 2])});
    }
    return 0;
}

Status PtpSource::poll_into(int readings, Batch& batch) {
    batch.clear();
    if (fd_ < 0) {
        Status status = open_and_probe();
        if (!status) {
            // The pipeline logs the failure it handles; here only the detail.
            if (!reported_down_)
                spdlog::debug("{} (will retry every poll)", status.error().message);
            reported_down_ = true;
            return status.error();
        }
        spdlog::debug("{}: device back", describe());
        reported_down_ = false;
    }

    const int n = std::clamp(readings, 1, kMaxReadings);
    int rc = -EINVAL;
    switch (method_) {
        case PtpMethod::precise:
            rc = read_precise(batch);
            break;
        case PtpMethod::extended:
            rc = read_extended(n, batch);
            break;
        case PtpMethod::basic:
            rc = read_basic(n, batch);
            break;
        case PtpMethod::automatic:
            break;
    }
    if (rc < 0) {
        const PtpMethod failed = method_;
        close_device();
        Error error =
            make_error("ptp " + options_.path + ": method " + to_string(failed) +
                           " failed: " + errno_text(-rc) + "; will re-open and re-probe next poll",
                       -rc);
        if (!reported_down_) spdlog::debug("{}", error.message);
        reported_down_ = true;
        return error;
    }
    return Ok{};
}

std::string PtpSource::describe() const {
    std::string text = "ptp " + options_.path;
    if (!options_.clock_name.empty()) text += " (" + options_.clock_name + ")";
    text += " method=";
    text += fd_ >= 0 ? to_string(method_) : "none";
    if (fd_ < 0 && last_method_ != PtpMethod::automatic) {
        text += std::string(" (was ") + to_string(last_method_) + ")";
    }
    return text;
}

}  // namespace vmrefclock

// PtpSource: host time from a PTP hardware clock (ptp_kvm's "KVM virtual PTP", vmclock's
// PHC, a NIC's PHC) through the PTP_SYS_OFFSET family of ioctls.
//
// Method, best first (probed in this order when opening, then remembered):
//   precise  PTP_SYS_OFFSET_PRECISE: one cross-timestamp, delay 0.
//   extended PTP_SYS_OFFSET_EXTENDED: n triples [CLOCK_REALTIME, PHC, CLOCK_REALTIME].
//   basic    PTP_SYS_OFFSET: 2n+1 timestamps, CLOCK_REALTIME and PHC interleaved.
// Every request is tried as its `...2` number first and as the original on ENOTTY.
//
// The source never reads a clock itself: the system timestamps come from the kernel in
// the same ioctl, which is what makes it testable against a fake device.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sources/ptp/ptp_abi.h"
#include "sources/ptp/ptp_device.h"
#include "sources/source.h"

namespace vmrefclock {

enum class PtpMethod { automatic, precise, extended, basic };

const char* to_string(PtpMethod method);
// "auto", "precise", "extended", "basic"; nullopt for anything else.
std::optional<PtpMethod> parse_ptp_method(std::string_view text);

struct PtpSourceOptions {
    std::string path = "/dev/ptp0";
    // The device's sysfs clock_name (from discovery), only for describe(); may be empty.
    std::string clock_name;
    // automatic probes; anything else is forced and a refusal is a startup error.
    PtpMethod method = PtpMethod::automatic;
};

class PtpSource final : public Source {
  public:
    // EXTENDED and basic take at most this many readings per poll (the kernel's
    // PTP_MAX_SAMPLES). A larger request is clamped rather than split over several
    // ioctls: the filter weighs the lowest-delay few anyway, and one ioctl keeps the
    // poll's readings close together in time.
    static constexpr int kMaxReadings = static_cast<int>(ptp_abi::kMaxSamples);

    // Opens the device, reads its capabilities and finds the method. Fails when the
    // device cannot be opened, no method works, or a forced method is refused; the
    // message names the device, the method and the errno text.
    static Result<std::unique_ptr<PtpSource>> open(std::shared_ptr<PtpDeviceIo> io,
                                                   PtpSourceOptions options);
    ~PtpSource() override;
    PtpSource(const PtpSource&) = delete;
    PtpSource& operator=(const PtpSource&) = delete;

    // One batch of min(max(readings, 1), 25) readings (one for precise). Readings whose
    // post < pre (the system clock stepped during the read) are kept: rejecting them is
    // the filter's job, in one place for every source. precision_ns is 1: the
    // timestamps are in ns, and the delay of each reading carries its real uncertainty.
    // A device error closes the device and returns an error; the next poll re-opens and
    // re-probes, so a device that comes back (or a clocksource change) is picked up.
    Result<Batch> poll(int readings) override { return poll_new_batch(readings); }
    // The same without allocating once `batch` has held as many readings.
    Status poll_into(int readings, Batch& batch) override;

    // "ptp /dev/ptp0 (KVM virtual PTP) method=basic"
    std::string describe() const override;
    std::string method_name() const override { return to_string(method_); }

    // The method in use; automatic while the device is closed after an error.
    PtpMethod method() const { return method_; }
    const ptp_abi::ClockCaps& caps() const { return caps_; }

  private:
    PtpSource(std::shared_ptr<PtpDeviceIo> io, PtpSourceOptions options);

    // Opens, reads caps, finds the method. Leaves the device closed on failure.
    Status open_and_probe();
    // The probe of one method: 0 if it works, else -errno.
    int try_method(PtpMethod method);
    int read_precise(Batch& batch);
    int read_extended(int n, Batch& batch);
    int read_basic(int n, Batch& batch);
    // v2 request, or the original after ENOTTY (remembered in *use_v1).
    int ioctl_v2_or_v1(unsigned long v2, unsigned long v1, bool* use_v1, void* arg);
    void close_device();

    std::shared_ptr<PtpDeviceIo> io_;
    PtpSourceOptions options_;
    int fd_ = -1;
    PtpMethod method_ = PtpMethod::automatic;
    PtpMethod last_method_ = PtpMethod::automatic;  // for describe() while closed
    ptp_abi::ClockCaps caps_{};
    bool caps_v1_ = false;
    bool precise_v1_ = false;
    bool extended_v1_ = false;
    bool basic_v1_ = false;
    bool reported_down_ = false;  // log a lost device once, not every poll
};

}  // namespace vmrefclock

// A fake PTP clock device behind the PtpDeviceIo seam, built from a simulated host clock.
//
// It answers the PTP ioctls the way the real drivers do (errno for errno, filling the
// kernel's own <linux/ptp_clock.h> structs, not PtpSource's copies of them, so a layout
// mistake on either side shows), and its "system time" is a counter the test advances,
// so tests are deterministic and take no real time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sources/ptp/ptp_device.h"

namespace vmrefclock::fake {

// The guest's CLOCK_REALTIME as the test sets it. Each clock read inside an ioctl
// advances it by the simulated read time.
class FakeSystemClock {
  public:
    explicit FakeSystemClock(int64_t start_ns = 1'800'000'000'000'000'000) : now_ns_(start_ns) {}
    int64_t now_ns() const { return now_ns_; }
    void advance(int64_t ns) { now_ns_ += ns; }

  private:
    int64_t now_ns_;
};

// The host's clock in terms of the guest's system time:
//   reference(sys) = sys + offset_ns + frequency_ppm * 1e-6 * (sys - anchor_sys_ns)
// Changing the frequency re-anchors so the offset stays continuous.
class HostClockModel {
  public:
    double offset_at(int64_t sys_ns) const;
    int64_t reference_at(int64_t sys_ns) const;
    // A step of the host's time (master clock update, migration to another host).
    void step(int64_t ns) { offset_ns_ += static_cast<double>(ns); }
    void set_offset_ns(double ns, int64_t at_sys_ns);
    void set_frequency_ppm(double ppm, int64_t at_sys_ns);

  private:
    double offset_ns_ = 0;
    double frequency_ppm_ = 0;
    int64_t anchor_sys_ns_ = 0;
};

// Read times. A reading's delay is base + uniform jitter, and with spike_probability a
// preemption (vCPU descheduled mid-read) adds up to spike_max_ns.
struct DelayModel {
    int64_t base_ns = 1'500;  // one hypercall plus two clock reads, roughly ptp_kvm's
    int64_t jitter_ns = 400;
    double spike_probability = 0;
    int64_t spike_max_ns = 200'000;
    int64_t phc_noise_ns = 20;  // +- noise of the device's own value
};

struct FakePtpProfile {
    std::string clock_name = "KVM virtual PTP";
    int32_t cross_timestamping_cap = 1;  // what GETCAPS says (not what PRECISE does)
    int precise_errno = 0;               // 0 = PRECISE works
    int extended_errno = 0;              // 0 = EXTENDED works
    // Linux 6.12+: EXTENDED's clockid field takes REALTIME, MONOTONIC, MONOTONIC_RAW.
    // Older: the field is rsv[0] and any non-zero value is EINVAL.
    bool extended_clockid_field = true;
    bool v2_requests = true;  // the `...2` request numbers exist (Linux 5.8+)

    // ptp_kvm on a guest whose clocksource is tsc: caps claim cross-timestamping, PRECISE
    // answers ENODEV, EXTENDED EOPNOTSUPP (no gettimex64); only basic works.
    static FakePtpProfile kvm_on_tsc();
    // ptp_kvm on a kvm-clock guest: PRECISE works.
    static FakePtpProfile kvm_on_kvm_clock();
    // vmclock's PHC: PRECISE and EXTENDED.
    static FakePtpProfile vmclock_phc();
    // A NIC's PHC on a pre-6.12 kernel: no PRECISE, EXTENDED with rsv[0] only.
    static FakePtpProfile old_kernel();
    // Before 5.8: no `...2` request numbers (ENOTTY), EXTENDED but no PRECISE.
    static FakePtpProfile pre_v2_kernel();
};

class FakePtpDeviceIo final : public PtpDeviceIo {
  public:
    struct Call {
        unsigned long request = 0;
        int result = 0;
        int32_t extended_clockid = 0;  // what the caller put in the clockid/rsv[0] slot
        unsigned n_samples = 0;
    };

    FakePtpDeviceIo(FakePtpProfile profile, std::shared_ptr<FakeSystemClock> clock,
                    std::string path = "/dev/ptp0", uint64_t seed = 1);

    Result<int> open(const std::string& path) override;
    int ioctl(int fd, unsigned long request, void* arg) override;
    void close(int fd) override;

    HostClockModel& host() { return host_; }
    DelayModel& delays() { return delays_; }
    FakePtpProfile& profile() { return profile_; }
    FakeSystemClock& clock() { return *clock_; }

    // The device goes away (driver unbound, hot unplug): ioctls on open descriptors
    // answer `err`, open() answers ENOENT.
    void vanish(int err = ENODEV);
    // A new instance of the device appears at the same path. Descriptors of the old one
    // stay dead, as a defunct ptp_clock's do, so the caller must re-open.
    void come_back();
    // `count` ioctls, after the next `after` ones, fail with `err` (a transient EIO, say);
    // the device stays.
    void fail_next_ioctls(int count, int err, int after = 0);
    // The next basic/extended read steps the system clock by `ns` between one reading's
    // pre and post timestamps (so a negative step gives post < pre).
    void step_system_during_next_read(int64_t ns) { pending_system_step_ns_ = ns; }

    const std::vector<Call>& calls() const { return calls_; }
    void clear_calls() { calls_.clear(); }
    int opens() const { return opens_; }
    int open_descriptors() const { return static_cast<int>(fds_.size()); }

  private:
    int dispatch(unsigned long request, void* arg, Call& call);
    int do_getcaps(void* arg);
    int do_precise(void* arg);
    int do_extended(void* arg, Call& call);
    int do_basic(void* arg, Call& call);
    // One reading: advances the system clock by its delay; returns {pre, phc, post}.
    struct Triple {
        int64_t pre, phc, post;
    };
    Triple take_reading();
    double uniform();  // [0, 1), from the seeded engine only (deterministic everywhere)

    FakePtpProfile profile_;
    std::shared_ptr<FakeSystemClock> clock_;
    std::string path_;
    HostClockModel host_;
    DelayModel delays_;
    std::mt19937_64 rng_;
    std::map<int, int> fds_;  // fd -> device instance
    int next_fd_ = 3;
    int instance_ = 0;
    bool present_ = true;
    int vanished_errno_ = ENODEV;
    int fail_skip_ = 0;
    int fail_count_ = 0;
    int fail_errno_ = 0;
    int64_t pending_system_step_ns_ = 0;
    int opens_ = 0;
    std::vector<Call> calls_;
};

}  // namespace vmrefclock::fake

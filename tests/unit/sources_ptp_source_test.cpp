// PtpSource over the fake device: every method, every fallback and errno, device loss
// and return, forced methods.
#include <gtest/gtest.h>
#include <linux/ptp_clock.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "sources/ptp/ptp_abi.h"
#include "sources/ptp/ptp_source.h"
#include "tests/sim/fakes/fake_ptp.h"

namespace vmrefclock {
namespace {

using fake::FakePtpDeviceIo;
using fake::FakePtpProfile;
using fake::FakeSystemClock;

struct Rig {
    explicit Rig(FakePtpProfile profile)
        : clock(std::make_shared<FakeSystemClock>()),
          device(std::make_shared<FakePtpDeviceIo>(std::move(profile), clock)) {
        device->host().set_offset_ns(37'000.0, clock->now_ns());  // host ahead by 37 µs
    }
    Result<std::unique_ptr<PtpSource>> open(PtpMethod method = PtpMethod::automatic) {
        PtpSourceOptions options;
        options.path = "/dev/ptp0";
        options.clock_name = device->profile().clock_name;
        options.method = method;
        return PtpSource::open(device, options);
    }
    std::vector<unsigned long> requests() const {
        std::vector<unsigned long> out;
        for (const auto& c : device->calls()) out.push_back(c.request);
        return out;
    }
    std::shared_ptr<FakeSystemClock> clock;
    std::shared_ptr<FakePtpDeviceIo> device;
};

void expect_offsets_near(const Batch& batch, int64_t offset_ns, int64_t tolerance_ns) {
    ASSERT_FALSE(batch.readings.empty());
    for (const Reading& r : batch.readings) {
        EXPECT_GE(r.delay_ns(), 0);
        EXPECT_NEAR(static_cast<double>(r.offset_ns()), static_cast<double>(offset_ns),
                    static_cast<double>(tolerance_ns + r.delay_ns() / 2));
    }
}

TEST(PtpAbi, NanosecondsRoundTrip) {
    for (int64_t ns : {int64_t{0}, int64_t{1}, int64_t{999'999'999}, int64_t{-1},
                       int64_t{-1'500'000'000}, int64_t{1'800'000'000'123'456'789}}) {
        EXPECT_EQ(ptp_abi::to_ns(ptp_abi::from_ns(ns)), ns) << ns;
    }
    EXPECT_EQ(ptp_abi::from_ns(-1).sec, -1);
    EXPECT_EQ(ptp_abi::from_ns(-1).nsec, 999'999'999u);
}

TEST(PtpMethodNames, ParseAndPrint) {
    EXPECT_EQ(parse_ptp_method("auto"), PtpMethod::automatic);
    EXPECT_EQ(parse_ptp_method("precise"), PtpMethod::precise);
    EXPECT_EQ(parse_ptp_method("extended"), PtpMethod::extended);
    EXPECT_EQ(parse_ptp_method("basic"), PtpMethod::basic);
    EXPECT_FALSE(parse_ptp_method("PRECISE").has_value());
    EXPECT_STREQ(to_string(PtpMethod::basic), "basic");
}

TEST(PtpSource, KvmOnTscFallsBackToBasic) {
    Rig rig(FakePtpProfile::kvm_on_tsc());
    auto source = rig.open();
    ASSERT_TRUE(source) << source.error().message;
    EXPECT_EQ((*source)->method(), PtpMethod::basic);
    EXPECT_EQ((*source)->caps().cross_timestamping, 1);  // caps lie; PRECISE says ENODEV
    EXPECT_EQ((*source)->describe(), "ptp /dev/ptp0 (KVM virtual PTP) method=basic");
    EXPECT_EQ(rig.requests(),
              (std::vector<unsigned long>{PTP_CLOCK_GETCAPS2, PTP_SYS_OFFSET_PRECISE2,
                                          PTP_SYS_OFFSET_EXTENDED2, PTP_SYS_OFFSET2}));
    EXPECT_EQ(rig.device->calls()[1].result, -ENODEV);
    EXPECT_EQ(rig.device->calls()[2].result, -EOPNOTSUPP);

    rig.device->clear_calls();
    auto batch = (*source)->poll(10);
    ASSERT_TRUE(batch) << batch.error().message;
    EXPECT_EQ(batch->readings.size(), 10u);
    EXPECT_EQ(batch->precision_ns, 1);
    EXPECT_FALSE(batch->host.has_value());
    expect_offsets_near(*batch, 37'000, 50);
    // Interleaved: each reading's post is the next one's pre.
    for (size_t i = 0; i + 1 < batch->readings.size(); ++i) {
        EXPECT_EQ(batch->readings[i].sys_post_ns, batch->readings[i + 1].sys_pre_ns);
    }
    ASSERT_EQ(rig.device->calls().size(), 1u);
    EXPECT_EQ(rig.device->calls()[0].request, PTP_SYS_OFFSET2);
    EXPECT_EQ(rig.device->calls()[0].n_samples, 10u);
}

TEST(PtpSource, KvmOnKvmClockUsesPrecise) {
    Rig rig(FakePtpProfile::kvm_on_kvm_clock());
    auto source = rig.open();
    ASSERT_TRUE(source) << source.error().message;
    EXPECT_EQ((*source)->method(), PtpMethod::precise);
    auto batch = (*source)->poll(10);
    ASSERT_TRUE(batch);
    ASSERT_EQ(batch->readings.size(), 1u);  // one cross-timestamp, however many asked
    const Reading& r = batch->readings[0];
    EXPECT_EQ(r.sys_pre_ns, r.sys_post_ns);
    EXPECT_EQ(r.delay_ns(), 0);
    EXPECT_NEAR(static_cast<double>(r.offset_ns()), 37'000.0, 25.0);
}

TEST(PtpSource, VmclockPhcPrefersPreciseAndCanBeForcedToExtended) {
    Rig rig(FakePtpProfile::vmclock_phc());
    auto automatic = rig.open();
    ASSERT_TRUE(automatic);
    EXPECT_EQ((*automatic)->method(), PtpMethod::precise);

    auto forced = rig.open(PtpMethod::extended);
    ASSERT_TRUE(forced) << forced.error().message;
    EXPECT_EQ((*forced)->method(), PtpMethod::extended);
    EXPECT_EQ((*forced)->describe(), "ptp /dev/ptp0 (vmclock0) method=extended");
    rig.device->clear_calls();
    auto batch = (*forced)->poll(7);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->readings.size(), 7u);
    expect_offsets_near(*batch, 37'000, 50);
    ASSERT_EQ(rig.device->calls().size(), 1u);
    EXPECT_EQ(rig.device->calls()[0].request, PTP_SYS_OFFSET_EXTENDED2);
    EXPECT_EQ(rig.device->calls()[0].extended_clockid, CLOCK_REALTIME);
}

TEST(PtpSource, ForcedBasicOnAPreciseDevice) {
    Rig rig(FakePtpProfile::vmclock_phc());
    auto source = rig.open(PtpMethod::basic);
    ASSERT_TRUE(source);
    EXPECT_EQ((*source)->method(), PtpMethod::basic);
    // Forcing skips the probe of better methods entirely.
    EXPECT_EQ(rig.requests(), (std::vector<unsigned long>{PTP_CLOCK_GETCAPS2, PTP_SYS_OFFSET2}));
}

TEST(PtpSource, OldKernelExtendedWorksBecauseRealtimeIsZero) {
    Rig rig(FakePtpProfile::old_kernel());
    // The fake behaves like a pre-6.12 kernel: a non-zero value in rsv[0] is EINVAL...
    int fd = *rig.device->open("/dev/ptp0");
    ptp_abi::SysOffsetExtended req{};
    req.n_samples = 1;
    req.clockid = CLOCK_MONOTONIC;
    EXPECT_EQ(rig.device->ioctl(fd, ptp_abi::kSysOffsetExtended2, &req), -EINVAL);
    req.clockid = 0;
    EXPECT_EQ(rig.device->ioctl(fd, ptp_abi::kSysOffsetExtended2, &req), 0);
    rig.device->close(fd);
    rig.device->clear_calls();

    // ...and PtpSource's CLOCK_REALTIME is 0, so it is accepted at the first try.
    auto source = rig.open();
    ASSERT_TRUE(source) << source.error().message;
    EXPECT_EQ((*source)->method(), PtpMethod::extended);
    for (const auto& call : rig.device->calls()) {
        EXPECT_NE(call.result, -EINVAL);
        EXPECT_EQ(call.extended_clockid, 0);
    }
    auto batch = (*source)->poll(5);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->readings.size(), 5u);
}

TEST(PtpSource, EinvalFromExtendedFallsBackToBasic) {
    FakePtpProfile profile = FakePtpProfile::old_kernel();
    profile.extended_errno = EINVAL;
    Rig rig(profile);
    auto source = rig.open();
    ASSERT_TRUE(source);
    EXPECT_EQ((*source)->method(), PtpMethod::basic);
}

TEST(PtpSource, PreV2KernelFallsBackToOriginalRequestNumbers) {
    Rig rig(FakePtpProfile::pre_v2_kernel());
    auto source = rig.open();
    ASSERT_TRUE(source) << source.error().message;
    EXPECT_EQ((*source)->method(), PtpMethod::extended);
    EXPECT_EQ(rig.requests(),
              (std::vector<unsigned long>{PTP_CLOCK_GETCAPS2, PTP_CLOCK_GETCAPS,
                                          PTP_SYS_OFFSET_PRECISE2, PTP_SYS_OFFSET_PRECISE,
                                          PTP_SYS_OFFSET_EXTENDED2, PTP_SYS_OFFSET_EXTENDED}));
    rig.device->clear_calls();
    ASSERT_TRUE((*source)->poll(3));
    // Remembered: no second ENOTTY round trip per poll.
    EXPECT_EQ(rig.requests(), (std::vector<unsigned long>{PTP_SYS_OFFSET_EXTENDED}));
}

TEST(PtpSource, PreV2KernelBasic) {
    FakePtpProfile profile = FakePtpProfile::pre_v2_kernel();
    profile.extended_errno = EOPNOTSUPP;
    Rig rig(profile);
    auto source = rig.open();
    ASSERT_TRUE(source);
    EXPECT_EQ((*source)->method(), PtpMethod::basic);
    rig.device->clear_calls();
    auto batch = (*source)->poll(4);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->readings.size(), 4u);
    EXPECT_EQ(rig.requests(), (std::vector<unsigned long>{PTP_SYS_OFFSET}));
}

TEST(PtpSource, UnknownRequestIsEnotty) {
    Rig rig(FakePtpProfile::vmclock_phc());
    int fd = *rig.device->open("/dev/ptp0");
    int dummy = 0;
    EXPECT_EQ(rig.device->ioctl(fd, PTP_ENABLE_PPS, &dummy), -ENOTTY);
    rig.device->close(fd);
}

TEST(PtpSource, ReadingsAreClampedTo25) {
    for (auto profile : {FakePtpProfile::kvm_on_tsc(), FakePtpProfile::old_kernel()}) {
        Rig rig(profile);
        auto source = rig.open();
        ASSERT_TRUE(source);
        auto many = (*source)->poll(100);
        ASSERT_TRUE(many);
        EXPECT_EQ(many->readings.size(), 25u);
        EXPECT_EQ(rig.device->calls().back().n_samples, 25u);
        auto none = (*source)->poll(0);
        ASSERT_TRUE(none);
        EXPECT_EQ(none->readings.size(), 1u);
    }
}

TEST(PtpSource, ReadingWithSystemStepKeptForTheFilter) {
    Rig rig(FakePtpProfile::kvm_on_tsc());
    auto source = rig.open();
    ASSERT_TRUE(source);
    rig.device->step_system_during_next_read(-1'000'000);
    auto batch = (*source)->poll(5);
    ASSERT_TRUE(batch);
    ASSERT_EQ(batch->readings.size(), 5u);
    EXPECT_LT(batch->readings[0].delay_ns(), 0);  // post < pre: kept, the filter rejects it
    for (size_t i = 1; i < 5; ++i) EXPECT_GE(batch->readings[i].delay_ns(), 0);
}

TEST(PtpSource, ForcedMethodRefusedIsAClearStartupError) {
    {
        Rig rig(FakePtpProfile::kvm_on_tsc());
        auto source = rig.open(PtpMethod::precise);
        ASSERT_FALSE(source);
        const std::string& msg = source.error().message;
        EXPECT_NE(msg.find("/dev/ptp0"), std::string::npos) << msg;
        EXPECT_NE(msg.find("precise"), std::string::npos) << msg;
        EXPECT_NE(msg.find(std::strerror(ENODEV)), std::string::npos) << msg;
        EXPECT_NE(msg.find("kvm-clock"), std::string::npos) << msg;
        EXPECT_EQ(source.error().code, ENODEV);
        EXPECT_EQ(rig.device->open_descriptors(), 0);
    }
    {
        Rig rig(FakePtpProfile::kvm_on_tsc());
        auto source = rig.open(PtpMethod::extended);
        ASSERT_FALSE(source);
        EXPECT_NE(source.error().message.find("extended"), std::string::npos);
        EXPECT_NE(source.error().message.find(std::strerror(EOPNOTSUPP)), std::string::npos);
        EXPECT_EQ(source.error().code, EOPNOTSUPP);
    }
    {
        Rig rig(FakePtpProfile::old_kernel());
        auto source = rig.open(PtpMethod::precise);
        ASSERT_FALSE(source);
        EXPECT_EQ(source.error().code, EOPNOTSUPP);
    }
}

TEST(PtpSource, MissingDeviceIsAStartupError) {
    Rig rig(FakePtpProfile::kvm_on_tsc());
    PtpSourceOptions options;
    options.path = "/dev/ptp7";
    auto source = PtpSource::open(rig.device, options);
    ASSERT_FALSE(source);
    EXPECT_EQ(source.error().code, ENOENT);
    EXPECT_NE(source.error().message.find("/dev/ptp7"), std::string::npos);
}

TEST(PtpSource, GetcapsFailureIsAStartupError) {
    Rig rig(FakePtpProfile::kvm_on_tsc());
    rig.device->fail_next_ioctls(1, EIO);
    auto source = rig.open();
    ASSERT_FALSE(source);
    EXPECT_EQ(source.error().code, EIO);
    EXPECT_NE(source.error().message.find("GETCAPS"), std::string::npos);
    EXPECT_EQ(rig.device->open_descriptors(), 0);
}

TEST(PtpSource, DeviceErrorDuringProbeDoesNotDowngradeTheMethod) {
    // EIO from PRECISE is the device failing, not "PRECISE unsupported": no fallback to a
    // worse method that would then stick for the whole run.
    Rig rig(FakePtpProfile::kvm_on_kvm_clock());
    rig.device->fail_next_ioctls(1, EIO, /*after=*/1);  // GETCAPS passes, PRECISE fails
    auto failed = rig.open();
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, EIO);
    EXPECT_EQ(rig.requests(),
              (std::vector<unsigned long>{PTP_CLOCK_GETCAPS2, PTP_SYS_OFFSET_PRECISE2}));
    EXPECT_EQ(rig.device->open_descriptors(), 0);
    auto source = rig.open();
    ASSERT_TRUE(source);
    EXPECT_EQ((*source)->method(), PtpMethod::precise);
}

TEST(PtpSource, DeviceVanishesAndComesBack) {
    Rig rig(FakePtpProfile::kvm_on_tsc());
    auto opened = rig.open();
    ASSERT_TRUE(opened);
    PtpSource& source = **opened;
    ASSERT_TRUE(source.poll(5));

    rig.device->vanish(ENODEV);
    auto lost = source.poll(5);
    ASSERT_FALSE(lost);
    EXPECT_EQ(lost.error().code, ENODEV);
    EXPECT_NE(lost.error().message.find("re-open"), std::string::npos);
    EXPECT_EQ(rig.device->open_descriptors(), 0);  // closed, not leaked
    EXPECT_EQ(source.describe(), "ptp /dev/ptp0 (KVM virtual PTP) method=none (was basic)");

    for (int i = 0; i < 3; ++i) {
        auto still = source.poll(5);
        ASSERT_FALSE(still);
        EXPECT_EQ(still.error().code, ENOENT);
    }

    rig.device->come_back();
    auto back = source.poll(5);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->readings.size(), 5u);
    EXPECT_EQ(source.method(), PtpMethod::basic);
    EXPECT_EQ(rig.device->open_descriptors(), 1);
    EXPECT_EQ(rig.device->opens(), 2);
}

TEST(PtpSource, TransientEioReopensAndReprobes) {
    Rig rig(FakePtpProfile::kvm_on_tsc());
    auto opened = rig.open();
    ASSERT_TRUE(opened);
    PtpSource& source = **opened;
    rig.device->fail_next_ioctls(1, EIO);
    auto failed = source.poll(5);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, EIO);
    // Meanwhile the guest switched its clocksource to kvm-clock: the re-probe finds it.
    rig.device->profile().precise_errno = 0;
    auto back = source.poll(5);
    ASSERT_TRUE(back);
    EXPECT_EQ(source.method(), PtpMethod::precise);
    EXPECT_EQ(back->readings.size(), 1u);
}

TEST(PtpSource, EnxioMidRunOnForcedMethodReprobesOnlyThatMethod) {
    Rig rig(FakePtpProfile::vmclock_phc());
    auto opened = rig.open(PtpMethod::extended);
    ASSERT_TRUE(opened);
    PtpSource& source = **opened;
    rig.device->vanish(ENXIO);
    auto lost = source.poll(5);
    ASSERT_FALSE(lost);
    EXPECT_EQ(lost.error().code, ENXIO);
    rig.device->come_back();
    rig.device->clear_calls();
    ASSERT_TRUE(source.poll(5));
    EXPECT_EQ(source.method(), PtpMethod::extended);
    EXPECT_EQ(rig.requests(),
              (std::vector<unsigned long>{PTP_CLOCK_GETCAPS2, PTP_SYS_OFFSET_EXTENDED2,
                                          PTP_SYS_OFFSET_EXTENDED2}));
}

TEST(PtpSource, ForcedMethodThatStopsWorkingFailsThePollNotTheProcess) {
    Rig rig(FakePtpProfile::kvm_on_kvm_clock());
    auto opened = rig.open(PtpMethod::precise);
    ASSERT_TRUE(opened);
    PtpSource& source = **opened;
    rig.device->profile().precise_errno = ENODEV;  // clocksource switched to tsc
    EXPECT_FALSE(source.poll(1));
    auto again = source.poll(1);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("precise"), std::string::npos);
    rig.device->profile().precise_errno = 0;
    EXPECT_TRUE(source.poll(1));
}

TEST(PtpSource, ClosesItsDescriptorOnDestruction) {
    Rig rig(FakePtpProfile::kvm_on_tsc());
    {
        auto source = rig.open();
        ASSERT_TRUE(source);
        EXPECT_EQ(rig.device->open_descriptors(), 1);
    }
    EXPECT_EQ(rig.device->open_descriptors(), 0);
}

}  // namespace
}  // namespace vmrefclock

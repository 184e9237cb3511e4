// The vmclock page reader against page files written here, byte for byte.
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>

#include "sources/system_clock.h"
#include "sources/vmclock/counter.h"
#include "sources/vmclock/time_math.h"
#include "sources/vmclock/vmclock_source.h"

namespace vmrefclock {
namespace {

using namespace vmclock;

// Counter ticks per second, measured against CLOCK_MONOTONIC_RAW over 50 ms: good to
// ~1e-5, which is ~10 ns of error over the 1 ms between writing a page and reading it.
double counter_hz() {
    static double hz = [] {
        auto raw = [] { return read_clock_ns(CLOCK_MONOTONIC_RAW); };
        int64_t t0 = raw();
        uint64_t c0 = read_cpu_counter();
        usleep(50'000);
        int64_t t1 = raw();
        uint64_t c1 = read_cpu_counter();
        return static_cast<double>(c1 - c0) * 1e9 / static_cast<double>(t1 - t0);
    }();
    return hz;
}

// The page's period for a counter of `hz` ticks per second, chosen as vmclock-sim does
// (tests/sim/vmclock_sim/host.cpp): seconds per tick scaled by 2^(64 + shift) into
// [2^63, 2^64), with the largest shift that fits, so the value never overflows and keeps
// all 64 bits at any counter frequency. (A fixed shift of 31 overflowed the uint64 for
// any counter below 2^31 Hz, issue 9.)
struct Period {
    uint64_t frac_sec = 0;
    uint8_t shift = 0;
};
Period period_for(long double hz) {
    long double v = std::ldexp(1.0L / hz, 64);
    int shift = 0;
    while (v < 0x1p63L && shift < 255) {
        v *= 2;
        ++shift;
    }
    v = std::round(v);
    if (v >= 0x1p64L && shift > 0) {  // rounding carried past 2^64
        v /= 2;
        --shift;
    }
    return {static_cast<uint64_t>(v), static_cast<uint8_t>(shift)};
}

class PageFile {
  public:
    PageFile() {
        char tmpl[] = "/tmp/vmr-page-XXXXXX";
        int fd = mkstemp(tmpl);
        close(fd);
        path_ = tmpl;
        std::memset(bytes_, 0, sizeof bytes_);
        abi().magic = kMagic;
        abi().size = 4096;
        abi().version = 1;
        abi().counter_id = kCpuCounterId;
        abi().time_type = kTimeUtc;
        abi().disruption_marker = 0x1234;
        abi().flags = kFlagTimeMaxerrorValid | kFlagVmGenCounterPresent;
        abi().clock_status = 2;
        abi().time_maxerror_nanosec = 1500;
        abi().vm_generation_counter = 7;
    }
    ~PageFile() { unlink(path_.c_str()); }

    Abi& abi() { return *reinterpret_cast<Abi*>(bytes_); }
    const std::string& path() const { return path_; }

    // Anchors the page at "now" for a host clock `offset_ns` ahead of CLOCK_REALTIME.
    void anchor(int64_t offset_ns) {
        uint64_t counter = read_cpu_counter();
        int64_t host_ns = read_clock_ns(CLOCK_REALTIME) + offset_ns;
        anchor_at(counter_hz(), counter, host_ns);
    }
    // The host clock reads `host_ns` at `counter`, and the counter runs at `hz`.
    void anchor_at(long double hz, uint64_t counter, int64_t host_ns) {
        const Period p = period_for(hz);
        abi().counter_value = counter;
        abi().counter_period_shift = p.shift;
        abi().counter_period_frac_sec = p.frac_sec;
        abi().time_sec = static_cast<uint64_t>(host_ns / 1'000'000'000);
        long double frac = static_cast<long double>(host_ns % 1'000'000'000) / 1e9L;
        abi().time_frac_sec = static_cast<uint64_t>(frac * 18446744073709551616.0L);
    }
    void write(size_t length = 4096) {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes_), static_cast<std::streamsize>(length));
    }

  private:
    std::string path_;
    alignas(8) unsigned char bytes_[4096];
};

double mean_offset_ns(const Batch& batch) {
    double sum = 0;
    for (const Reading& r : batch.readings) sum += static_cast<double>(r.offset_ns());
    return sum / static_cast<double>(batch.readings.size());
}

TEST(VmclockPage, ValidUtcPageGivesTheHostOffset) {
    PageFile page;
    page.anchor(250'000);
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_TRUE(source) << source.error().message;
    auto batch = (*source)->poll(10);
    ASSERT_TRUE(batch) << batch.error().message;
    EXPECT_EQ(batch->unusable_reason, "");
    ASSERT_EQ(batch->readings.size(), 10u);
    EXPECT_NEAR(mean_offset_ns(*batch), 250'000, 2'000);
    for (const Reading& r : batch->readings) EXPECT_GE(r.delay_ns(), 0);
    ASSERT_TRUE(batch->host);
    EXPECT_EQ(batch->host->disruption_marker, 0x1234u);
    EXPECT_EQ(batch->host->vm_generation, std::optional<uint64_t>(7));
    EXPECT_EQ(batch->host->time_maxerror_ns, std::optional<uint64_t>(1500));
    EXPECT_EQ(batch->host->clock_status, ClockStatus::synchronized);
}

TEST(VmclockPage, BadMagicIsNamed) {
    PageFile page;
    page.abi().magic = 0xdeadbeef;
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_FALSE(source);
    EXPECT_NE(source.error().message.find("bad magic 0xdeadbeef"), std::string::npos)
        << source.error().message;
}

TEST(VmclockPage, ShortSizeFieldIsNamed) {
    PageFile page;
    page.abi().size = 64;
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_FALSE(source);
    EXPECT_NE(source.error().message.find("size field 64"), std::string::npos)
        << source.error().message;
}

TEST(VmclockPage, ShortFileIsNamed) {
    PageFile page;
    page.write(40);
    auto source = VmclockSource::open(page.path());
    ASSERT_FALSE(source);
    EXPECT_NE(source.error().message.find("file is 40 bytes"), std::string::npos)
        << source.error().message;
}

TEST(VmclockPage, WrongVersionIsNamed) {
    PageFile page;
    page.abi().version = 2;
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_FALSE(source);
    EXPECT_NE(source.error().message.find("unsupported version 2"), std::string::npos);
}

TEST(VmclockPage, MissingFileIsAnOpenError) {
    auto source = VmclockSource::open("/nonexistent/vmclock0");
    ASSERT_FALSE(source);
    EXPECT_EQ(source.error().code, ENOENT);
    EXPECT_NE(source.error().message.find("/nonexistent/vmclock0"), std::string::npos);
}

TEST(VmclockPage, OddSeqForeverFailsWithinTheBound) {
    PageFile page;
    page.anchor(0);
    page.abi().seq_count = 3;
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_TRUE(source);
    auto start = std::chrono::steady_clock::now();
    auto batch = (*source)->poll(10);
    auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(batch);
    EXPECT_NE(batch.error().message.find("seq_count"), std::string::npos);
    EXPECT_GE(elapsed, std::chrono::milliseconds(100));
    EXPECT_LT(elapsed, std::chrono::milliseconds(500));
}

TEST(VmclockPage, MarkerOnlyPageGivesSignalsButNoSamples) {
    PageFile page;
    page.abi().counter_id = kCounterInvalid;
    page.abi().disruption_marker = 99;
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_TRUE(source);
    auto batch = (*source)->poll(10);
    ASSERT_TRUE(batch);
    EXPECT_TRUE(batch->readings.empty());
    EXPECT_NE(batch->unusable_reason.find("marker-only"), std::string::npos);
    ASSERT_TRUE(batch->host);
    EXPECT_EQ(batch->host->disruption_marker, 99u);
    EXPECT_TRUE(probe_vmclock(page.path()).marker_only);
}

TEST(VmclockPage, TaiWithValidOffsetIsConvertedToUtc) {
    PageFile page;
    page.abi().time_type = kTimeTai;
    page.abi().tai_offset_sec = -37;
    page.abi().flags |= kFlagTaiOffsetValid;
    page.anchor(37'000'000'000 + 100'000);  // TAI = UTC + 37 s, host 100 us ahead
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_TRUE(source);
    auto batch = (*source)->poll(5);
    ASSERT_TRUE(batch);
    ASSERT_EQ(batch->readings.size(), 5u) << batch->unusable_reason;
    EXPECT_NEAR(mean_offset_ns(*batch), 100'000, 2'000);
}

TEST(VmclockPage, TaiWithoutValidOffsetIsNotUsable) {
    PageFile page;
    page.abi().time_type = kTimeTai;
    page.abi().tai_offset_sec = -37;  // present but not flagged valid
    page.anchor(37'000'000'000);
    page.write();
    auto batch = (*VmclockSource::open(page.path()))->poll(5);
    ASSERT_TRUE(batch);
    EXPECT_TRUE(batch->readings.empty());
    EXPECT_NE(batch->unusable_reason.find("not usable as UTC"), std::string::npos);
}

TEST(VmclockPage, MonotonicAndSmearedAreNotUsable) {
    for (uint8_t type : {kTimeMonotonic, kTimeSmeared, kTimeMaybeSmeared}) {
        PageFile page;
        page.abi().time_type = type;
        page.anchor(0);
        page.write();
        auto batch = (*VmclockSource::open(page.path()))->poll(5);
        ASSERT_TRUE(batch);
        EXPECT_TRUE(batch->readings.empty());
        EXPECT_NE(batch->unusable_reason.find("not usable as UTC"), std::string::npos);
    }
}

TEST(VmclockPage, GenerationNeedsTheFieldAndTheFlag) {
    PageFile page;
    page.anchor(0);
    page.abi().size = 104;  // a page from before vm_generation_counter existed
    page.write();
    auto batch = (*VmclockSource::open(page.path()))->poll(1);
    ASSERT_TRUE(batch);
    EXPECT_FALSE(batch->host->vm_generation);

    page.abi().size = 4096;
    page.abi().flags &= ~kFlagVmGenCounterPresent;
    page.write();
    batch = (*VmclockSource::open(page.path()))->poll(1);
    EXPECT_FALSE(batch->host->vm_generation);
}

TEST(VmclockPage, LeapAndMaintenanceAreMapped) {
    EXPECT_EQ(vmclock_leap(kLeapPrePositive), Leap::insert);
    EXPECT_EQ(vmclock_leap(kLeapPreNegative), Leap::remove);
    EXPECT_EQ(vmclock_leap(3), Leap::none);
    PageRead r;
    r.flags = kFlagDisruptionSoon;
    EXPECT_EQ(vmclock_host_info(r).maintenance, Maintenance::soon);
    r.flags |= kFlagDisruptionImminent;
    EXPECT_EQ(vmclock_host_info(r).maintenance, Maintenance::imminent);
}

// The formula against values computed by hand.
TEST(VmclockTimeMath, ZeroShiftOneNanosecondPeriod) {
    CounterCalibration cal;
    cal.counter_value = 1000;
    cal.counter_period_frac_sec = 18446744074ull;  // ~1 ns in 2^-64 s (2^64 / 1e9, rounded up)
    cal.time_sec = 1'700'000'000;
    cal.time_frac_sec = 1ull << 63;  // 0.5 s
    // 1e9 ticks of ~1 ns: 1 s later, plus 0.5 s.
    auto t = counter_to_ns(cal, 1000 + 1'000'000'000);
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, 1'700'000'001'500'000'000);
}

TEST(VmclockTimeMath, NonZeroShift) {
    CounterCalibration cal;
    cal.counter_value = 5;
    cal.counter_period_shift = 4;
    // Period 1/16 s in units of 2^-(64+4) s is 2^64 / 16 * 16 = 2^64: not representable,
    // so use 1/32 s: 2^68 / 32 = 2^63.
    cal.counter_period_frac_sec = 1ull << 63;
    cal.time_sec = 100;
    cal.time_frac_sec = 0;
    EXPECT_EQ(*counter_to_ns(cal, 5 + 32), 101'000'000'000);  // 32 ticks of 1/32 s
    EXPECT_EQ(*counter_to_ns(cal, 5 + 1), 100'031'250'000);   // one tick: 31.25 ms
    EXPECT_EQ(*counter_to_ns(cal, 5), 100'000'000'000);
}

TEST(VmclockTimeMath, CounterJustBeforeTheAnchor) {
    CounterCalibration cal;
    cal.counter_value = 1000;
    cal.counter_period_shift = 4;
    cal.counter_period_frac_sec = 1ull << 63;  // 1/32 s per tick
    cal.time_sec = 100;
    EXPECT_EQ(*counter_to_ns(cal, 999), 99'968'750'000);
}

TEST(VmclockTimeMath, FractionCarriesIntoSeconds) {
    CounterCalibration cal;
    cal.counter_period_shift = 1;
    cal.counter_period_frac_sec = 1ull << 63;  // 2^63 >> 1 = 2^62: a quarter second per tick
    cal.time_sec = 10;
    cal.time_frac_sec = 3ull << 62;  // 0.75 s
    EXPECT_EQ(*counter_to_ns(cal, 1), 11'000'000'000);
    EXPECT_EQ(*counter_to_ns(cal, 2), 11'250'000'000);
}

TEST(VmclockTimeMath, AbsurdValuesAreRejectedNotWrapped) {
    CounterCalibration cal;
    cal.counter_period_frac_sec = UINT64_MAX;
    cal.time_sec = 1'700'000'000;
    EXPECT_FALSE(counter_to_ns(cal, UINT64_MAX));  // ~2^64 s away
    cal.counter_period_frac_sec = 1;
    cal.time_sec = UINT64_MAX;
    EXPECT_FALSE(counter_to_ns(cal, 0));
    cal.time_sec = 0;
    cal.counter_period_shift = 64;
    EXPECT_FALSE(counter_to_ns(cal, 0));
}

// The helper's period for every counter frequency from 1 to 5 GHz: in range, and one
// second of ticks is one second of page time to the nanosecond.
TEST(VmclockPageHelper, PeriodFitsAnyCounterFrom1To5GHz) {
    for (long double hz = 1e9L; hz <= 5e9L; hz += 0.05e9L) {
        for (long double f : {hz, 2.096e9L, 2147483648.0L, 2147483647.0L}) {
            const Period p = period_for(f);
            EXPECT_GE(p.frac_sec, 1ull << 63) << static_cast<double>(f);
            CounterCalibration cal;
            cal.counter_value = 1000;
            cal.counter_period_frac_sec = p.frac_sec;
            cal.counter_period_shift = p.shift;
            cal.time_sec = 1'700'000'000;
            const uint64_t ticks = static_cast<uint64_t>(std::llround(f));
            auto t = counter_to_ns(cal, 1000 + ticks);
            ASSERT_TRUE(t);
            EXPECT_NEAR(static_cast<double>(*t - 1'700'000'000'000'000'000), 1e9, 1.0)
                << static_cast<double>(f) << " Hz";
        }
    }
}

// A page written for a counter of `hz`, read back from the file, at `seconds` after the
// anchor: the page time must be the anchor's plus exactly that.
void expect_page_time_at(long double hz, int seconds) {
    PageFile page;
    const uint64_t counter = 123'456'789'000;
    const int64_t host_ns = 1'782'000'000'123'456'789;
    page.anchor_at(hz, counter, host_ns);
    page.write();
    auto opened = VmclockPage::open(page.path());
    ASSERT_TRUE(opened) << opened.error().message;
    auto read = (*opened)->read(false);
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(vmclock_unusable_reason(*read), "");
    PageRead r = *read;
    r.counter_read = true;
    r.counter = counter + static_cast<uint64_t>(std::llround(hz * seconds));
    auto reading = vmclock_reading(r);
    ASSERT_TRUE(reading);
    EXPECT_NEAR(static_cast<double>(reading->ref_ns - host_ns), seconds * 1e9, 2.0)
        << static_cast<double>(hz) << " Hz, " << seconds << " s";
}

TEST(VmclockPageHelper, SlowCounter1GHz) {
    for (int s : {0, 1, 3600}) expect_page_time_at(1e9L, s);
}

TEST(VmclockPageHelper, FastCounter5GHz) {
    for (int s : {0, 1, 3600}) expect_page_time_at(5e9L, s);
}

// Issue 9: a TAI page near the end of int64's nanoseconds with tai_offset_sec = +-32767
// overflowed int64 (undefined behaviour); it is now not representable, so no reading.
TEST(VmclockPage, TaiOffsetAtTheEndOfTheRangeIsRejectedNotOverflowed) {
    PageRead r;
    r.counter_id = kCpuCounterId;
    r.time_type = kTimeTai;
    r.flags = kFlagTaiOffsetValid;
    r.counter_read = true;
    r.calibration.counter_value = 1000;
    r.calibration.counter_period_frac_sec = 1ull << 63;
    r.calibration.counter_period_shift = 32;
    r.calibration.time_sec = 9'223'372'035;  // the last second counter_to_ns represents
    r.counter = 1000;
    ASSERT_TRUE(counter_to_ns(r.calibration, r.counter));
    r.tai_offset_sec = 32767;
    EXPECT_FALSE(vmclock_reading(r));
    r.tai_offset_sec = -37;  // an ordinary offset there still fits
    EXPECT_TRUE(vmclock_reading(r));

    // The same at the negative end: a counter far behind counter_value.
    r.calibration.time_sec = 0;
    r.calibration.counter_period_frac_sec = UINT64_MAX;
    r.calibration.counter_period_shift = 0;
    r.calibration.counter_value = 9'223'372'035;
    r.counter = 0;  // about 9.2e9 s before 1970
    ASSERT_TRUE(counter_to_ns(r.calibration, r.counter));
    r.tai_offset_sec = -32768;
    EXPECT_FALSE(vmclock_reading(r));

    // Through a page file: the poll says the time is not representable.
    PageFile page;
    page.abi().time_type = kTimeTai;
    page.abi().flags |= kFlagTaiOffsetValid;
    page.abi().tai_offset_sec = 32767;
    page.anchor(0);
    page.abi().time_sec = 9'223'372'035;
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_TRUE(source) << source.error().message;
    auto batch = (*source)->poll(3);
    ASSERT_TRUE(batch) << batch.error().message;
    EXPECT_TRUE(batch->readings.empty());
    EXPECT_NE(batch->unusable_reason.find("not representable"), std::string::npos)
        << batch->unusable_reason;
}

}  // namespace
}  // namespace vmrefclock

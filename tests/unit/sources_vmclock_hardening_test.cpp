// The vmclock page reader against a hostile or broken page file: header changes while
// running, truncation, replacement, deletion, FIFOs and devices at the path; the counter
// rate measurement the counter-rate gate uses.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "sources/vmclock/counter_rate.h"
#include "sources/vmclock/vmclock_source.h"
#include "tests/support/test_page.h"

namespace vmrefclock {
namespace {

using namespace vmclock;
using test::TestPage;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

class Hardening : public ::testing::Test {
  protected:
    void SetUp() override {
        page.anchor(250'000);
        page.write();
        auto opened = VmclockSource::open(page.path());
        ASSERT_TRUE(opened) << opened.error().message;
        source = std::move(*opened);
    }
    // The poll's error, "" when it gave readings.
    std::string poll_error() {
        auto batch = source->poll(5);
        if (!batch) return batch.error().message;
        EXPECT_EQ(batch->unusable_reason, "");
        EXPECT_EQ(batch->readings.size(), 5u);
        return "";
    }

    TestPage page;
    std::unique_ptr<VmclockSource> source;
};

TEST_F(Hardening, HeaderIsCheckedOnEveryRead) {
    ASSERT_EQ(poll_error(), "");
    page.abi().magic = 0x4b4c4357;
    page.write();
    EXPECT_NE(poll_error().find("bad magic 0x4b4c4357"), std::string::npos);
    page.abi().magic = kMagic;
    page.abi().version = 2;
    page.write();
    EXPECT_NE(poll_error().find("unsupported version 2"), std::string::npos);
    page.abi().version = 1;
    page.abi().size = 64;
    page.write();
    EXPECT_NE(poll_error().find("size field 64 is too small"), std::string::npos);
    page.abi().size = 4096;
    page.write();
    EXPECT_EQ(poll_error(), "");  // valid again: read again
}

TEST_F(Hardening, TruncationIsAnErrorNotASignal) {
    ASSERT_EQ(poll_error(), "");
    for (size_t length : {size_t{0}, size_t{12}, size_t{40}, size_t{103}}) {
        page.write(length);
        const std::string error = poll_error();
        EXPECT_NE(error.find("truncated: file is " + std::to_string(length) + " bytes"),
                  std::string::npos)
            << error;
    }
    page.write();
    EXPECT_EQ(poll_error(), "");
}

TEST_F(Hardening, ReplacedFileIsReopened) {
    ASSERT_EQ(poll_error(), "");
    page.abi().disruption_marker = 0x5678;
    page.replace();  // another inode; the old one still holds marker 0x1234
    auto batch = source->poll(3);
    ASSERT_TRUE(batch) << batch.error().message;
    ASSERT_TRUE(batch->host);
    EXPECT_EQ(batch->host->disruption_marker, 0x5678u);
}

TEST_F(Hardening, DeletedFileIsAnErrorUntilItComesBack) {
    ASSERT_EQ(poll_error(), "");
    ASSERT_EQ(unlink(page.path().c_str()), 0);
    EXPECT_NE(poll_error().find("no longer exists (deleted)"), std::string::npos);
    page.write();
    EXPECT_EQ(poll_error(), "");
}

TEST_F(Hardening, FifoInPlaceOfThePageIsRefusedAtOnce) {
    ASSERT_EQ(unlink(page.path().c_str()), 0);
    ASSERT_EQ(mkfifo(page.path().c_str(), 0644), 0);
    const auto t0 = Clock::now();
    const std::string error = poll_error();
    EXPECT_LT(ms_since(t0), 100.0);
    EXPECT_NE(error.find("is a FIFO"), std::string::npos) << error;
    ASSERT_EQ(unlink(page.path().c_str()), 0);
    page.write();
    EXPECT_EQ(poll_error(), "");
}

TEST(VmclockOpen, RefusesWhatIsNeitherAFileNorACharacterDevice) {
    test::TempDir dir;
    const std::string fifo = dir.file("fifo");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    const auto t0 = Clock::now();
    auto opened = VmclockSource::open(fifo);  // no writer: a blocking open would hang here
    const double took_ms = ms_since(t0);
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("is a FIFO, not a character device or a regular file"),
              std::string::npos)
        << opened.error().message;
    EXPECT_LT(took_ms, 100.0);
    std::printf("FIFO refused in %.3f ms\n", took_ms);

    auto directory = VmclockSource::open(dir.path());
    ASSERT_FALSE(directory);
    EXPECT_NE(directory.error().message.find("is a directory"), std::string::npos);
    EXPECT_NE(directory.error().code, ENOENT);  // present but broken: a setup error

    auto zero = VmclockSource::open("/dev/zero");  // a character device full of zeros
    ASSERT_FALSE(zero);
    EXPECT_NE(zero.error().message.find("bad magic 0x00000000"), std::string::npos)
        << zero.error().message;
    EXPECT_FALSE(VmclockSource::open("/dev/null"));

    const VmclockPageProbe probe = probe_vmclock(fifo);
    EXPECT_TRUE(probe.exists);
    EXPECT_NE(probe.error.find("FIFO"), std::string::npos);
}

TEST(VmclockCounterRate, BatchCarriesThePagePeriodBesideTheMeasurement) {
    TestPage page;
    page.anchor(0);
    page.write();
    auto source = VmclockSource::open(page.path());
    ASSERT_TRUE(source);
    auto batch = (*source)->poll(5);
    ASSERT_TRUE(batch && batch->counter_rate);
    const CounterRateCheck& c = *batch->counter_rate;
    EXPECT_NEAR(c.page_period_s * c.measured_hz, 1.0, 1e-4);
    EXPECT_LT(c.measured_uncertainty, 1e-4);

    page.abi().counter_period_shift = 63;  // time stands still
    page.write();
    batch = (*source)->poll(5);
    ASSERT_TRUE(batch && batch->counter_rate);
    EXPECT_LT(batch->counter_rate->page_period_s * batch->counter_rate->measured_hz, 1e-6);

    page.anchor(0);
    page.abi().counter_period_frac_sec = UINT64_MAX;
    page.write();
    batch = (*source)->poll(5);
    ASSERT_TRUE(batch && batch->counter_rate);
    EXPECT_GT(batch->counter_rate->page_period_s * batch->counter_rate->measured_hz, 1.0);
}

TEST(VmclockCounterRate, MeterMeasuresAndSurvivesAJump) {
    CounterRateMeter meter;
    EXPECT_FALSE(meter.rate());
    const double hz = 2'500'000'000.0;
    auto at = [&](int64_t ns, uint64_t base = 1000) {
        meter.add(ns - 50, base + static_cast<uint64_t>(static_cast<double>(ns) * hz / 1e9),
                  ns + 50);
    };
    at(0);
    EXPECT_FALSE(meter.rate());
    at(20'000'000);
    ASSERT_TRUE(meter.rate());
    EXPECT_NEAR(meter.rate()->hz, hz, hz * 1e-5);
    EXPECT_NEAR(meter.rate()->uncertainty, 100.0 / 20e6, 1e-9);
    for (int i = 2; i <= 10; ++i) at(i * 500'000'000LL);
    EXPECT_NEAR(meter.rate()->hz, hz, hz * 1e-8);
    // The counter jumps ahead by an hour's worth (a migration that did not keep it): the
    // rate stands, and a new measurement starts from the jump.
    const uint64_t jump = static_cast<uint64_t>(3600 * hz);
    at(5'500'000'000LL, 1000 + jump);
    ASSERT_TRUE(meter.rate());
    EXPECT_NEAR(meter.rate()->hz, hz, hz * 1e-8);
    EXPECT_EQ(meter.span_ns(), 0);
    at(6'000'000'000LL, 1000 + jump);
    EXPECT_NEAR(meter.rate()->hz, hz, hz * 1e-6);
    // A counter that went back: the same.
    at(6'500'000'000LL, 0);
    EXPECT_NEAR(meter.rate()->hz, hz, hz * 1e-6);
}

TEST(VmclockCounterRate, MeterFollowsARateChange) {
    // A migration to a host whose counter runs 0.2 % faster against this guest's
    // CLOCK_MONOTONIC_RAW: measured afresh within a poll, not blended over the hours.
    CounterRateMeter meter;
    const double hz = 2'500'000'000.0;
    uint64_t counter = 1000;
    int64_t t = 0;
    for (int i = 0; i < 7200; ++i) {  // an hour of 0.5-s polls
        meter.add(t - 50, counter, t + 50);
        t += 500'000'000;
        counter += static_cast<uint64_t>(hz / 2);
    }
    ASSERT_NEAR(meter.rate()->hz, hz, 1);
    for (int i = 0; i < 3; ++i) {
        meter.add(t - 50, counter, t + 50);
        t += 500'000'000;
        counter += static_cast<uint64_t>(hz * 1.002 / 2);
    }
    EXPECT_NEAR(meter.rate()->hz, hz * 1.002, hz * 1e-6);
}

}  // namespace
}  // namespace vmrefclock

// The C client (clockbound/clockbound_client.h): ClockBound's reader rules, the vmclock
// marker check, and reading what the daemon's writer wrote.
#include <gtest/gtest.h>
#include <time.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "clockbound/clockbound_client.h"
#include "ipc/clockbound/clockbound_writer.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

using test::TempDir;

constexpr int64_t kS = 1'000'000'000;

int64_t ns_of(const timespec& t) {
    return int64_t{t.tv_sec} * kS + t.tv_nsec;
}

int64_t now_ns(clockid_t clock) {
    timespec t{};
    clock_gettime(clock, &t);
    return ns_of(t);
}

vmr_cb_body body(int32_t status, int64_t as_of_ns, int64_t bound_ns, uint32_t drift_ppb) {
    vmr_cb_body b{};
    b.as_of = {as_of_ns / kS, as_of_ns % kS};
    b.void_after = {as_of_ns / kS + 1000, as_of_ns % kS};
    b.bound_nsec = bound_ns;
    b.max_drift_ppb = drift_ppb;
    b.clock_status = status;
    return b;
}

TEST(ClockBoundClient, BoundGrowsByTheDriftSinceAsOf) {
    // ClockBound's own example: 10 us, 1 ppm, 2 s later -> 12 us.
    const vmr_cb_body b = body(VMR_CB_STATUS_SYNCHRONIZED, 0, 10'000, 1000);
    vmr_cb_now_result r{};
    ASSERT_EQ(vmr_cb_compute_at(&b, 2 * kS, 2 * kS, &r), VMR_CB_OK);
    EXPECT_EQ(r.bound_ns, 12'000);
    EXPECT_EQ(r.earliest.tv_sec, 1);
    EXPECT_EQ(r.earliest.tv_nsec, 1'000'000'000 - 12'000);
    EXPECT_EQ(r.latest.tv_sec, 2);
    EXPECT_EQ(r.latest.tv_nsec, 12'000);
    EXPECT_EQ(r.status, VMR_CB_STATUS_SYNCHRONIZED);
}

TEST(ClockBoundClient, StatusAgesFromSynchronizedToFreeRunningToUnknown) {
    for (int32_t written : {VMR_CB_STATUS_SYNCHRONIZED, VMR_CB_STATUS_FREE_RUNNING}) {
        const vmr_cb_body b = body(written, 100 * kS, 1000, 1000);
        vmr_cb_now_result r{};
        ASSERT_EQ(vmr_cb_compute_at(&b, 0, 105 * kS - 1, &r), VMR_CB_OK);
        EXPECT_EQ(r.status, written) << "as written for 5 s";
        ASSERT_EQ(vmr_cb_compute_at(&b, 0, 105 * kS, &r), VMR_CB_OK);
        EXPECT_EQ(r.status, VMR_CB_STATUS_FREE_RUNNING);
        ASSERT_EQ(vmr_cb_compute_at(&b, 0, 1100 * kS - 1, &r), VMR_CB_OK);
        EXPECT_EQ(r.status, VMR_CB_STATUS_FREE_RUNNING);
        ASSERT_EQ(vmr_cb_compute_at(&b, 0, 1100 * kS, &r), VMR_CB_OK);
        EXPECT_EQ(r.status, VMR_CB_STATUS_UNKNOWN) << "void after";
    }
    for (int32_t written : {VMR_CB_STATUS_UNKNOWN, VMR_CB_STATUS_DISRUPTED}) {
        const vmr_cb_body b = body(written, 100 * kS, 1000, 1000);
        vmr_cb_now_result r{};
        ASSERT_EQ(vmr_cb_compute_at(&b, 0, 101 * kS, &r), VMR_CB_OK);
        EXPECT_EQ(r.status, written);
        ASSERT_EQ(vmr_cb_compute_at(&b, 0, 2000 * kS, &r), VMR_CB_OK);
        EXPECT_EQ(r.status, written) << "returned as is";
    }
}

TEST(ClockBoundClient, CausalityAndMalformedDrift) {
    const vmr_cb_body b = body(VMR_CB_STATUS_SYNCHRONIZED, 100 * kS, 1000, 1000);
    vmr_cb_now_result r{};
    EXPECT_EQ(vmr_cb_compute_at(&b, 0, 100 * kS - 1000, &r), VMR_CB_OK) << "within the 1 us blur";
    EXPECT_EQ(r.bound_ns, 1000);
    EXPECT_EQ(vmr_cb_compute_at(&b, 0, 100 * kS - 1001, &r), VMR_CB_ERR_CAUSALITY);
    const vmr_cb_body bad = body(VMR_CB_STATUS_SYNCHRONIZED, 0, 1000, 1'000'000'000);
    EXPECT_EQ(vmr_cb_compute_at(&bad, 0, 0, &r), VMR_CB_ERR_MALFORMED);
    // Years of drift at the largest rate do not overflow.
    const vmr_cb_body fast = body(VMR_CB_STATUS_FREE_RUNNING, 0, 1000, 999'999'999);
    ASSERT_EQ(vmr_cb_compute_at(&fast, 0, 100'000 * kS, &r), VMR_CB_OK);
    EXPECT_GT(r.bound_ns, 99'000 * kS);
}

struct Fixture {
    TempDir dir;
    std::string shm = dir.file("shm0");
    std::string page = dir.file("vmclock0");
    std::unique_ptr<ClockBoundWriter> writer;

    Fixture() {
        auto w = ClockBoundWriter::open(shm);
        if (!w) throw std::runtime_error(w.error().message);
        writer = std::move(*w);
        write_page(7);
    }
    void write_page(uint64_t marker) {
        unsigned char bytes[4096] = {};
        const uint32_t magic = 0x4b4c4356;
        std::memcpy(bytes, &magic, 4);
        std::memcpy(bytes + 16, &marker, 8);
        FILE* f = std::fopen(page.c_str(), "r+b");
        if (!f) f = std::fopen(page.c_str(), "wb");
        std::fwrite(bytes, 1, sizeof bytes, f);
        std::fclose(f);
    }
    void publish(DaemonState state, std::optional<uint64_t> marker, uint64_t disruptions = 0) {
        BoundInput in;
        in.now_coarse_mono_ns = now_ns(CLOCK_MONOTONIC_COARSE);
        in.state = state;
        in.fed_chrony = state == DaemonState::ok;
        in.disruptions = disruptions;
        BoundMeasurement m;
        m.offset_ns = 100;
        m.error_ns = 400;
        m.frequency_stddev_ppm = 0;
        in.fresh = m;
        in.disruption_marker = marker;
        writer->publish(in);
    }
};

TEST(ClockBoundClient, ReadsTheDaemonsSegment) {
    Fixture f;
    int error = -1;
    EXPECT_EQ(vmr_cb_open(f.shm.c_str(), f.page.c_str(), &error), nullptr)
        << "generation 0: not usable yet";
    EXPECT_EQ(error, VMR_CB_ERR_NOT_INITIALIZED);
    f.publish(DaemonState::ok, 7);
    vmr_cb_client* c = vmr_cb_open(f.shm.c_str(), f.page.c_str(), &error);
    ASSERT_NE(c, nullptr) << vmr_cb_strerror(error);
    vmr_cb_now_result r{};
    const int64_t before = now_ns(CLOCK_REALTIME);
    ASSERT_EQ(vmr_cb_now(c, &r), VMR_CB_OK);
    const int64_t after = now_ns(CLOCK_REALTIME);
    EXPECT_EQ(r.status, VMR_CB_STATUS_SYNCHRONIZED);
    EXPECT_GE(r.bound_ns, 500);
    EXPECT_LT(r.bound_ns, 600);
    const int64_t mid = ns_of(r.earliest) + r.bound_ns;
    EXPECT_GE(mid, before);
    EXPECT_LE(mid, after);
    EXPECT_EQ(ns_of(r.latest) - ns_of(r.earliest), 2 * r.bound_ns);

    // The host's marker moves before the daemon has seen it: Unknown, and no bound (the
    // old clock's interval would be off by the step).
    f.write_page(8);
    ASSERT_EQ(vmr_cb_now(c, &r), VMR_CB_OK);
    EXPECT_EQ(r.status, VMR_CB_STATUS_UNKNOWN);
    EXPECT_EQ(r.bound_ns, VMR_CB_UNKNOWN_BOUND_NS);
    EXPECT_EQ(ns_of(r.latest) - ns_of(r.earliest), 2 * VMR_CB_UNKNOWN_BOUND_NS);
    // The daemon publishes the disruption: Disrupted, as written.
    f.publish(DaemonState::holdoff, 8, 1);
    ASSERT_EQ(vmr_cb_now(c, &r), VMR_CB_OK);
    EXPECT_EQ(r.status, VMR_CB_STATUS_DISRUPTED);
    f.publish(DaemonState::ok, 8, 1);
    ASSERT_EQ(vmr_cb_now(c, &r), VMR_CB_OK);
    EXPECT_EQ(r.status, VMR_CB_STATUS_SYNCHRONIZED);
    vmr_cb_close(c);
}

TEST(ClockBoundClient, MarkerCheckNeedsTheDevice) {
    Fixture f;
    f.publish(DaemonState::ok, 7);
    int error = 0;
    vmr_cb_client* c = vmr_cb_open(f.shm.c_str(), f.dir.file("absent").c_str(), &error);
    ASSERT_NE(c, nullptr);
    vmr_cb_now_result r{};
    ASSERT_EQ(vmr_cb_now(c, &r), VMR_CB_OK);
    EXPECT_EQ(r.status, VMR_CB_STATUS_UNKNOWN) << "support on, marker cannot be checked";
    EXPECT_LT(r.bound_ns, 600) << "not known to be stale: the interval as written";
    // Without disruption support (a PHC and no page) no device is needed.
    f.publish(DaemonState::ok, std::nullopt);
    ASSERT_EQ(vmr_cb_now(c, &r), VMR_CB_OK);
    EXPECT_EQ(r.status, VMR_CB_STATUS_SYNCHRONIZED);
    vmr_cb_close(c);
}

TEST(ClockBoundClient, OddGenerationGivesTheLastSnapshot) {
    Fixture f;
    f.publish(DaemonState::ok, 7);
    int error = 0;
    vmr_cb_client* c = vmr_cb_open(f.shm.c_str(), f.page.c_str(), &error);
    ASSERT_NE(c, nullptr);
    vmr_cb_now_result r{};
    ASSERT_EQ(vmr_cb_now(c, &r), VMR_CB_OK);
    const int64_t first = r.bound_ns;
    // A writer caught mid-update (odd generation) with a body that says otherwise.
    FILE* file = std::fopen(f.shm.c_str(), "r+b");
    const uint16_t odd = 3;
    const int64_t huge = 999'999;
    std::fseek(file, 14, SEEK_SET);
    std::fwrite(&odd, 2, 1, file);
    std::fseek(file, 48, SEEK_SET);
    std::fwrite(&huge, 8, 1, file);
    std::fclose(file);
    ASSERT_EQ(vmr_cb_now(c, &r), VMR_CB_OK);
    EXPECT_LT(r.bound_ns, first + 1000) << "the half-written body is not used";
    vmr_cb_close(c);
}

TEST(ClockBoundClient, OpenErrors) {
    TempDir dir;
    int error = 0;
    EXPECT_EQ(vmr_cb_open(dir.file("absent").c_str(), nullptr, &error), nullptr);
    EXPECT_EQ(error, VMR_CB_ERR_SYSCALL);
    FILE* f = std::fopen(dir.file("short").c_str(), "wb");
    std::fputs("foobarbaz", f);
    std::fclose(f);
    EXPECT_EQ(vmr_cb_open(dir.file("short").c_str(), nullptr, &error), nullptr);
    EXPECT_EQ(error, VMR_CB_ERR_MALFORMED);
    EXPECT_STREQ(vmr_cb_status_name(VMR_CB_STATUS_FREE_RUNNING), "FREE_RUNNING");
}

}  // namespace
}  // namespace vmrefclock

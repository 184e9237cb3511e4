// The bounded-time segment writer, checked through a reader written separately from
// the published format (tests/support/clockbound_reference_reader.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <new>
#include <thread>

#include "ipc/clockbound/clockbound_writer.h"
#include "tests/support/clockbound_reference_reader.h"
#include "tests/support/temp_dir.h"

namespace {
// Counts heap allocations made while `g_counting` is set: publish() must make none.
thread_local bool g_counting = false;
long g_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
    if (g_counting) ++g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace vmrefclock {
namespace {

using test::reference_read;
using test::TempDir;

constexpr int64_t kMono = 1'000'000'000'000;  // 1000 s

BoundInput fed(double offset_ns, double error_ns, uint64_t disruptions = 0) {
    BoundInput in;
    in.now_coarse_mono_ns = kMono;
    in.state = DaemonState::ok;
    in.fed_chrony = true;
    in.disruptions = disruptions;
    BoundMeasurement m;
    m.offset_ns = offset_ns;
    m.error_ns = error_ns;
    m.age_ns = 0;
    m.frequency_ppm = 0.002;
    m.frequency_stddev_ppm = 0.001;
    in.fresh = m;
    in.disruption_marker = 7;
    return in;
}

TEST(ClockBoundWriter, FreshSegmentIsUnusableUntilTheFirstPublish) {
    TempDir dir;
    const std::string path = dir.file("sub/shm0");  // the directory is created
    auto writer = ClockBoundWriter::open(path);
    ASSERT_TRUE(writer) << writer.error().message;
    EXPECT_FALSE((*writer)->warm_restart());
    auto before = reference_read(path);
    EXPECT_FALSE(before.segment);
    EXPECT_EQ(before.rejected, "generation 0");

    (*writer)->publish(fed(-300, 200));
    auto after = reference_read(path);
    ASSERT_TRUE(after.segment) << after.rejected;
    const auto& s = *after.segment;
    EXPECT_EQ(s.segsize, 80u);
    EXPECT_EQ(s.version, 2);
    EXPECT_EQ(s.generation, 2);
    EXPECT_EQ(s.clock_status, 1);  // Synchronized
    EXPECT_EQ(s.as_of_sec, 1000);
    EXPECT_EQ(s.as_of_nsec, 0);
    EXPECT_EQ(s.void_after_sec, 2000);
    // max_drift = (|0.002| + 3 * 0.001) ppm + 1000 ppb margin = 1005 ppb.
    EXPECT_EQ(s.max_drift_ppb, 1005u);
    // bound = |offset| + error + drift * coarse resolution (age 0).
    timespec res{};
    clock_getres(CLOCK_MONOTONIC_COARSE, &res);
    const double expected = 300 + 200 + 1005e-9 * static_cast<double>(res.tv_nsec);
    EXPECT_EQ(s.bound_nsec, static_cast<int64_t>(std::ceil(expected)));
    EXPECT_EQ(s.disruption_marker, 7u);
    EXPECT_EQ(s.clock_disruption_support_enabled, 1);
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 80) << "the file is exactly the segment";
}

TEST(ClockBoundWriter, BoundGrowsWithTheMeasurementsAgeAndUnknownDrift) {
    TempDir dir;
    auto writer = ClockBoundWriter::open(dir.file("shm0"));
    ASSERT_TRUE(writer);
    BoundInput in = fed(1000, 500);
    in.fresh->frequency_stddev_ppm.reset();  // just after a reset: slope unknown
    in.fresh->age_ns = 2'000'000;            // 2 ms between measurement and write
    (*writer)->publish(in);
    auto s = reference_read(dir.file("shm0")).segment;
    ASSERT_TRUE(s);
    EXPECT_EQ(s->max_drift_ppb, 50'000u);
    timespec res{};
    clock_getres(CLOCK_MONOTONIC_COARSE, &res);
    const double expected = 1500 + 50'000e-9 * (2e6 + static_cast<double>(res.tv_nsec));
    EXPECT_EQ(s->bound_nsec, static_cast<int64_t>(std::ceil(expected)));
}

TEST(ClockBoundWriter, StatusFollowsTheDaemon) {
    TempDir dir;
    const std::string path = dir.file("shm0");
    auto opened = ClockBoundWriter::open(path);
    ASSERT_TRUE(opened);
    ClockBoundWriter& w = **opened;
    auto status = [&] { return reference_read(path).segment->clock_status; };

    BoundInput starting;
    starting.now_coarse_mono_ns = kMono;
    w.publish(starting);
    EXPECT_EQ(status(), 0) << "Unknown before the first bound";

    w.publish(fed(10, 100));
    EXPECT_EQ(status(), 1);

    // A disruption noticed between polls: no fresh bound, Disrupted, the new marker.
    BoundInput disrupted;
    disrupted.now_coarse_mono_ns = kMono + 1000;
    disrupted.state = DaemonState::holdoff;
    disrupted.disruptions = 1;
    disrupted.disruption_marker = 8;
    w.publish(disrupted);
    auto s = reference_read(path).segment;
    EXPECT_EQ(s->clock_status, 3);
    EXPECT_EQ(s->disruption_marker, 8u);
    // The old clock's bound does not hold for the new one: no bound until a measurement.
    EXPECT_EQ(s->bound_nsec, TimeBound::kUnknownBoundNs);
    EXPECT_EQ(s->as_of_sec, 1000);
    EXPECT_EQ(s->as_of_nsec, 1000);

    // Hold-off, chrony being reset: fresh bounds of the new clock, held back, Disrupted.
    BoundInput holdoff = fed(2'000'000, 100, 1);
    holdoff.state = DaemonState::holdoff;
    holdoff.fed_chrony = false;
    holdoff.now_coarse_mono_ns = kMono + 500'000'000;
    w.publish(holdoff);
    s = reference_read(path).segment;
    EXPECT_EQ(s->clock_status, 3);
    EXPECT_EQ(s->as_of_nsec, 500'000'000);
    EXPECT_GE(s->bound_nsec, 2'000'100);

    // Feeding the new clock while chrony re-selects it (still "holdoff"): Synchronized.
    BoundInput recovering = fed(5, 100, 1);
    recovering.state = DaemonState::holdoff;
    w.publish(recovering);
    EXPECT_EQ(status(), 1);

    // Degraded, no fresh bound: FreeRunning, as_of kept so readers add the drift.
    BoundInput degraded;
    degraded.now_coarse_mono_ns = kMono + 3'000'000'000;
    degraded.state = DaemonState::degraded;
    degraded.disruptions = 1;
    w.publish(degraded);
    s = reference_read(path).segment;
    EXPECT_EQ(s->clock_status, 2);
    EXPECT_EQ(s->as_of_sec, 1000);

    // A disruption while degraded stays Disrupted until a fed, fresh bound.
    degraded.disruptions = 2;
    w.publish(degraded);
    EXPECT_EQ(status(), 3);
    degraded.state = DaemonState::no_source;
    w.publish(degraded);
    EXPECT_EQ(status(), 3);

    BoundInput unusable = fed(5, 100, 2);
    unusable.state = DaemonState::unusable;
    unusable.fresh.reset();
    w.publish(unusable);
    EXPECT_EQ(status(), 0) << "the host gives no usable time";
}

TEST(ClockBoundWriter, GenerationIsEvenBetweenWritesAndWrapsFrom65534To2) {
    TempDir dir;
    const std::string path = dir.file("shm0");
    {
        auto w = ClockBoundWriter::open(path);
        ASSERT_TRUE(w);
        (*w)->publish(fed(1, 1));
        (*w)->publish(fed(1, 1));
        EXPECT_EQ(reference_read(path).segment->generation, 4);
    }
    // Warm restart at the top of the range.
    const int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    const uint16_t top = 65534;
    ASSERT_EQ(pwrite(fd, &top, sizeof top, 14), 2);
    ::close(fd);
    auto w = ClockBoundWriter::open(path);
    ASSERT_TRUE(w);
    EXPECT_TRUE((*w)->warm_restart());
    EXPECT_EQ(reference_read(path).segment->generation, 65534) << "reused as it is";
    (*w)->publish(fed(1, 1));
    EXPECT_EQ(reference_read(path).segment->generation, 2) << "0 is skipped";
    (*w)->publish(fed(1, 1));
    EXPECT_EQ(reference_read(path).segment->generation, 4);
}

TEST(ClockBoundWriter, WarmRestartKeepsTheSegmentReadable) {
    TempDir dir;
    const std::string path = dir.file("shm0");
    {
        auto w = ClockBoundWriter::open(path);
        ASSERT_TRUE(w);
        (*w)->publish(fed(42, 100));
    }
    auto before = reference_read(path);
    ASSERT_TRUE(before.segment);
    auto w = ClockBoundWriter::open(path);
    ASSERT_TRUE(w);
    EXPECT_TRUE((*w)->warm_restart());
    // Readers still get the old bound until the restarted writer's first publish.
    auto after = reference_read(path);
    ASSERT_TRUE(after.segment) << after.rejected;
    EXPECT_EQ(after.segment->generation, before.segment->generation);
    EXPECT_EQ(after.segment->bound_nsec, before.segment->bound_nsec);
    (*w)->publish(fed(42, 100));
    EXPECT_EQ(reference_read(path).segment->generation, before.segment->generation + 2);
}

TEST(ClockBoundWriter, InvalidContentIsRecreated) {
    for (const std::string& content :
         {std::string("foobarbaz"), std::string(80, '\xff'), std::string(200, '\0')}) {
        TempDir dir;
        const std::string path = dir.file("shm0");
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
        ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
        ::close(fd);
        auto w = ClockBoundWriter::open(path);
        ASSERT_TRUE(w) << w.error().message;
        EXPECT_FALSE((*w)->warm_restart());
        EXPECT_EQ(reference_read(path).rejected, "generation 0");
        (*w)->publish(fed(1, 1));
        auto s = reference_read(path);
        ASSERT_TRUE(s.segment) << s.rejected;
        EXPECT_EQ(s.segment->generation, 2);
    }
}

TEST(ClockBoundWriter, TwoWritersNeverShareAPath) {
    TempDir dir;
    const std::string path = dir.file("shm0");
    auto first = ClockBoundWriter::open(path);
    ASSERT_TRUE(first);
    auto second = ClockBoundWriter::open(path);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("locked by another writer"), std::string::npos)
        << second.error().message;
    EXPECT_NE(second.error().message.find(path), std::string::npos);
    first->reset();  // the lock goes with the writer
    EXPECT_TRUE(ClockBoundWriter::open(path));
}

TEST(ClockBoundWriter, ALiveWriterWithoutALockIsNotClobbered) {
    TempDir dir;
    const std::string path = dir.file("shm0");
    {
        auto w = ClockBoundWriter::open(path);
        ASSERT_TRUE(w);
        BoundInput in = fed(1, 1);
        timespec t{};
        clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
        in.now_coarse_mono_ns = int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
        (*w)->publish(in);  // a recent segment
    }
    // clockbound-d stand-in: keeps bumping the generation by 2, without flock.
    std::atomic<bool> stop{false};
    std::thread other([&] {
        const int fd = ::open(path.c_str(), O_RDWR);
        uint16_t generation = 2;
        while (!stop) {
            generation += 2;
            [[maybe_unused]] ssize_t n = pwrite(fd, &generation, 2, 14);
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        ::close(fd);
    });
    auto refused = ClockBoundWriter::open(path);
    stop = true;
    other.join();
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("being written by another process"), std::string::npos)
        << refused.error().message;
    // The same recent segment with nobody writing: our own earlier run, reused.
    auto reused = ClockBoundWriter::open(path);
    ASSERT_TRUE(reused) << reused.error().message;
    EXPECT_TRUE((*reused)->warm_restart());
}

TEST(ClockBoundWriter, BadPathsAreClearErrors) {
    TempDir dir;
    auto directory = ClockBoundWriter::open(dir.path());
    ASSERT_FALSE(directory);
    EXPECT_NE(directory.error().message.find(dir.path()), std::string::npos);
    auto under_file = ClockBoundWriter::open("/dev/null/shm0");
    ASSERT_FALSE(under_file);
    EXPECT_NE(under_file.error().message.find("/dev/null"), std::string::npos)
        << under_file.error().message;
}

TEST(ClockBoundWriter, PublishAllocatesNothing) {
    TempDir dir;
    auto w = ClockBoundWriter::open(dir.file("shm0"));
    ASSERT_TRUE(w);
    BoundInput in = fed(10, 10);
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 1000; ++i) (*w)->publish(in);
    g_counting = false;
    EXPECT_EQ(g_allocations, 0);
}

}  // namespace
}  // namespace vmrefclock

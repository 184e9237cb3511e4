#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "ipc/chrony/chrony_sock.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

using test::TempDir;

constexpr int64_t kSecNs = 1'000'000'000;

// Stands in for chronyd's end of the SOCK refclock: binds the path, receives datagrams.
class FakeChronyd {
  public:
    explicit FakeChronyd(std::string path) : path_(std::move(path)) { bind_socket(); }
    ~FakeChronyd() { stop(true); }

    void bind_socket() {
        unlink(path_.c_str());  // as chronyd does
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd_, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
        ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
            << std::strerror(errno);
    }
    // unlink_path=false leaves a stale socket file behind, as a crashed chronyd would.
    void stop(bool unlink_path) {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
        if (unlink_path) unlink(path_.c_str());
    }
    // The raw bytes of the next datagram, or nothing within the timeout.
    std::optional<std::string> receive(int timeout_ms = 1000) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) != 1) return std::nullopt;
        char buf[256];
        ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) return std::nullopt;
        return std::string(buf, static_cast<size_t>(n));
    }

  private:
    std::string path_;
    int fd_ = -1;
};

template <typename T>
T field_at(const std::string& bytes, size_t offset) {
    T v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

// Decodes chrony's struct sock_sample by offsets, not through SockSample, so a layout
// mistake in the struct cannot cancel out.
struct Decoded {
    int64_t tv_sec;
    int64_t tv_usec;
    double offset;
    int32_t pulse, leap, pad, magic;
};
Decoded decode(const std::string& bytes) {
    EXPECT_EQ(bytes.size(), 40u);
    return Decoded{field_at<int64_t>(bytes, 0),  field_at<int64_t>(bytes, 8),
                   field_at<double>(bytes, 16),  field_at<int32_t>(bytes, 24),
                   field_at<int32_t>(bytes, 28), field_at<int32_t>(bytes, 32),
                   field_at<int32_t>(bytes, 36)};
}

Sample make_sample(int64_t time_ns, double offset_ns, Leap leap = Leap::none) {
    Sample s;
    s.time_ns = time_ns;
    s.offset_ns = offset_ns;
    s.leap = leap;
    return s;
}

// What chrony reconstructs from a datagram: the reference (tv + offset) paired with the
// system time tv. Its difference must be the sample's own offset, within 1 ns, for every
// sub-microsecond remainder of the time: chrony compares reference and system at tv.
double reconstructed_offset_ns(const SockSample& s) {
    return s.offset * 1e9;
}
int64_t tv_ns(const SockSample& s) {
    return (static_cast<int64_t>(s.tv.tv_sec) * 1'000'000 + s.tv.tv_usec) * 1000;
}

TEST(ToSockSample, ChronysReferenceMinusTvIsTheSampleOffsetForEveryRemainder) {
    const int64_t base = 1'717'000'000'123'456'000;
    for (double offset_ns : {0.0, 1500.0, -2000.25, 0.4, -999.9, 2.5e6, -3.7e9}) {
        for (int64_t rem = 0; rem < 1000; ++rem) {
            const SockSample s = to_sock_sample(make_sample(base + rem, offset_ns));
            ASSERT_EQ(tv_ns(s), base) << "remainder " << rem;
            ASSERT_NEAR(reconstructed_offset_ns(s), offset_ns, 1.0)
                << "remainder " << rem << " offset " << offset_ns;
        }
    }
    const SockSample s = to_sock_sample(make_sample(base + 789, 1500.0));
    EXPECT_EQ(s.tv.tv_sec, 1'717'000'000);
    EXPECT_EQ(s.tv.tv_usec, 123'456);
    EXPECT_EQ(s.pulse, 0);
    EXPECT_EQ(s.leap, 0);
    EXPECT_EQ(s.magic, 0x534f434b);
}

TEST(ToSockSample, NegativeTimesFloorAndKeepTheOffset) {
    // -1 ns is 1969-12-31T23:59:59.999999999: tv must be -1 s + 999999 us.
    SockSample s = to_sock_sample(make_sample(-1, 0.0));
    EXPECT_EQ(s.tv.tv_sec, -1);
    EXPECT_EQ(s.tv.tv_usec, 999'999);
    EXPECT_NEAR(reconstructed_offset_ns(s), 0.0, 1.0);

    s = to_sock_sample(make_sample(-1'500'000'000, 10.0));
    EXPECT_EQ(s.tv.tv_sec, -2);
    EXPECT_EQ(s.tv.tv_usec, 500'000);
    EXPECT_NEAR(reconstructed_offset_ns(s), 10.0, 1.0);

    for (int64_t rem = 1; rem < 1000; ++rem) {
        s = to_sock_sample(make_sample(-5'000'000'000 - rem, -42.0));
        ASSERT_EQ(tv_ns(s), -5'000'001'000) << "remainder " << rem;
        ASSERT_NEAR(reconstructed_offset_ns(s), -42.0, 1.0) << "remainder " << rem;
    }
}

TEST(ToSockSample, OffsetPrecisionSurvivesLargeTimes) {
    // 0.25 ns must survive next to a 1.7e18 ns time point.
    SockSample s = to_sock_sample(make_sample(1'717'000'000'000'000'000, 0.25));
    EXPECT_DOUBLE_EQ(s.offset, 0.25e-9);
}

TEST(ToSockSample, LeapValues) {
    EXPECT_EQ(to_sock_sample(make_sample(0, 0, Leap::none)).leap, 0);
    EXPECT_EQ(to_sock_sample(make_sample(0, 0, Leap::insert)).leap, 1);
    EXPECT_EQ(to_sock_sample(make_sample(0, 0, Leap::remove)).leap, 2);
}

class ChronySockSinkTest : public ::testing::Test {
  protected:
    TempDir dir_;
    std::string path_ = dir_.path() + "/vm.sock";
};

TEST_F(ChronySockSinkTest, DeliversOneDatagramByteForByte) {
    FakeChronyd chronyd(path_);
    ChronySockSink sink(path_);
    EXPECT_FALSE(sink.connected());

    struct Case {
        int64_t time_ns;
        double offset_ns;
        Leap leap;
        int64_t tv_sec, tv_usec;
        double offset_s;
    };
    const Case cases[] = {
        {1'717'000'000'123'456'789, 2'500'000.0, Leap::none, 1'717'000'000, 123'456,
         2'500'000.0 * 1e-9},
        {1'717'000'001'000'000'999, -3'000'000.5, Leap::insert, 1'717'000'001, 0,
         -3'000'000.5 * 1e-9},
        {1'717'000'002'999'999'001, -0.5, Leap::remove, 1'717'000'002, 999'999, -0.5e-9},
    };
    int64_t mono = 100 * kSecNs;
    for (const auto& c : cases) {
        auto st = sink.send(make_sample(c.time_ns, c.offset_ns, c.leap), mono);
        ASSERT_TRUE(st.ok()) << st.error().message;
        auto bytes = chronyd.receive();
        ASSERT_TRUE(bytes.has_value());
        ASSERT_EQ(bytes->size(), 40u);
        Decoded d = decode(*bytes);
        EXPECT_EQ(d.magic, 0x534f434b);
        EXPECT_EQ(d.tv_sec, c.tv_sec);
        EXPECT_EQ(d.tv_usec, c.tv_usec);
        EXPECT_DOUBLE_EQ(d.offset, c.offset_s);
        EXPECT_EQ(d.pulse, 0);
        EXPECT_EQ(d.leap, static_cast<int>(c.leap));
        EXPECT_EQ(d.pad, 0);
        mono += kSecNs / 2;
    }
    EXPECT_TRUE(sink.connected());
    EXPECT_EQ(sink.sent(), 3u);
    EXPECT_TRUE(sink.last_error().empty());
}

TEST_F(ChronySockSinkTest, AbsentChronydBacksOffWithoutSpinning) {
    ChronySockSink sink(path_);
    int64_t mono = 1000 * kSecNs;

    auto st = sink.send(make_sample(1, 0), mono);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find(path_), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find(std::strerror(ENOENT)), std::string::npos)
        << st.error().message;
    EXPECT_EQ(st.error().code, ENOENT);
    EXPECT_FALSE(sink.connected());
    EXPECT_EQ(sink.backoff_ns(), kSecNs / 2);
    EXPECT_EQ(sink.retry_at_mono_ns(), mono + kSecNs / 2);

    // chronyd appears during the back-off: the sink must not notice before the back-off
    // ends, which proves it made no connect attempt.
    FakeChronyd chronyd(path_);
    st = sink.send(make_sample(2, 0), mono + kSecNs / 4);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find(path_), std::string::npos);
    EXPECT_FALSE(chronyd.receive(50).has_value());
    chronyd.stop(true);

    // Each failed attempt doubles the wait, up to 30 s.
    int64_t expected = kSecNs / 2;
    for (int i = 0; i < 10; ++i) {
        mono = sink.retry_at_mono_ns();
        st = sink.send(make_sample(3 + i, 0), mono);
        ASSERT_FALSE(st.ok());
        expected = std::min(expected * 2, 30 * kSecNs);
        EXPECT_EQ(sink.backoff_ns(), expected) << i;
        EXPECT_EQ(sink.retry_at_mono_ns(), mono + expected);
    }
    EXPECT_EQ(sink.backoff_ns(), 30 * kSecNs);
    EXPECT_EQ(sink.sent(), 0u);
}

TEST_F(ChronySockSinkTest, ConnectsOnceChronydBindsAndResetsBackoff) {
    ChronySockSink sink(path_);
    int64_t mono = 5 * kSecNs;
    ASSERT_FALSE(sink.send(make_sample(1, 0), mono).ok());
    mono = sink.retry_at_mono_ns();
    ASSERT_FALSE(sink.send(make_sample(2, 0), mono).ok());
    EXPECT_EQ(sink.backoff_ns(), kSecNs);

    FakeChronyd chronyd(path_);
    mono = sink.retry_at_mono_ns();
    auto st = sink.send(make_sample(3'000, 7.0), mono);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_TRUE(sink.connected());
    EXPECT_EQ(sink.backoff_ns(), 0);
    EXPECT_TRUE(sink.last_error().empty());
    auto bytes = chronyd.receive();
    ASSERT_TRUE(bytes.has_value());
    EXPECT_EQ(decode(*bytes).tv_usec, 3);
}

TEST_F(ChronySockSinkTest, StaleSocketFileIsConnectionRefused) {
    FakeChronyd chronyd(path_);
    chronyd.stop(false);  // the file stays, nobody listens
    ChronySockSink sink(path_);
    auto st = sink.send(make_sample(1, 0), kSecNs);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ECONNREFUSED);
    EXPECT_NE(st.error().message.find(std::strerror(ECONNREFUSED)), std::string::npos);
    EXPECT_FALSE(sink.connected());
}

TEST_F(ChronySockSinkTest, ReconnectsWhenChronydRestarts) {
    FakeChronyd chronyd(path_);
    ChronySockSink sink(path_);
    int64_t mono = kSecNs;
    ASSERT_TRUE(sink.send(make_sample(1'000, 0), mono).ok());
    ASSERT_TRUE(chronyd.receive().has_value());

    // Restart: close, unlink, rebind the same path. The old connection now points at a
    // dead socket and fails with ECONNREFUSED; the sink must reconnect to the new one.
    chronyd.stop(true);
    chronyd.bind_socket();
    mono += kSecNs / 2;
    auto st = sink.send(make_sample(2'000, 0), mono);
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto bytes = chronyd.receive();
    ASSERT_TRUE(bytes.has_value());
    EXPECT_EQ(decode(*bytes).tv_usec, 2);
    EXPECT_EQ(sink.sent(), 2u);
}

TEST_F(ChronySockSinkTest, ChronydDownForAWhileThenBack) {
    FakeChronyd chronyd(path_);
    ChronySockSink sink(path_);
    int64_t mono = kSecNs;
    ASSERT_TRUE(sink.send(make_sample(1'000, 0), mono).ok());
    ASSERT_TRUE(chronyd.receive().has_value());

    chronyd.stop(true);
    mono += kSecNs / 2;
    auto st = sink.send(make_sample(2'000, 0), mono);
    ASSERT_FALSE(st.ok());
    EXPECT_FALSE(sink.connected());
    EXPECT_NE(st.error().message.find(path_), std::string::npos);
    EXPECT_EQ(sink.retry_at_mono_ns(), mono + kSecNs / 2);

    chronyd.bind_socket();
    // Still backing off.
    ASSERT_FALSE(sink.send(make_sample(3'000, 0), mono + kSecNs / 4).ok());
    EXPECT_FALSE(chronyd.receive(20).has_value());
    // Back-off over: delivered.
    st = sink.send(make_sample(4'000, 0), mono + kSecNs / 2);
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto bytes = chronyd.receive();
    ASSERT_TRUE(bytes.has_value());
    EXPECT_EQ(decode(*bytes).tv_usec, 4);
}

TEST_F(ChronySockSinkTest, FullQueueDropsSampleAndKeepsConnection) {
    FakeChronyd chronyd(path_);
    ChronySockSink sink(path_);
    int64_t mono = kSecNs;
    // Nobody reads: the receiver's queue (net.unix.max_dgram_qlen, 10 by default) fills.
    int sent_ok = 0;
    Status last = Ok{};
    for (int i = 0; i < 10'000; ++i) {
        last = sink.send(make_sample(i * 1000, 0), mono);
        if (!last.ok()) break;
        ++sent_ok;
    }
    ASSERT_FALSE(last.ok()) << "queue never filled";
    EXPECT_EQ(last.error().code, EAGAIN) << last.error().message;
    EXPECT_TRUE(sink.connected());
    EXPECT_EQ(sink.dropped(), 1u);
    EXPECT_EQ(sink.backoff_ns(), 0);

    // Once chronyd catches up, samples flow again on the same connection.
    for (int i = 0; i < sent_ok; ++i) ASSERT_TRUE(chronyd.receive().has_value());
    auto st = sink.send(make_sample(99'000'000, 0), mono);
    ASSERT_TRUE(st.ok()) << st.error().message;
    EXPECT_EQ(sink.sent(), static_cast<uint64_t>(sent_ok) + 1);
}

// What the daemon's loop does with all_read() (through ChronyControl): asks again until
// it is true or the time is up.
bool all_read_within(const ChronySockSink& sink, int64_t timeout_ns) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
    while (!sink.all_read()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

TEST_F(ChronySockSinkTest, AllReadTellsWhetherChronydHasReadEverything) {
    FakeChronyd chronyd(path_);
    ChronySockSink sink(path_);
    EXPECT_TRUE(sink.all_read());  // not connected: nothing queued
    ASSERT_TRUE(sink.send(make_sample(1000, 0), kSecNs).ok());
    ASSERT_TRUE(sink.send(make_sample(2000, 0), kSecNs).ok());
    EXPECT_FALSE(all_read_within(sink, 20'000'000));  // unread: times out
    ASSERT_TRUE(chronyd.receive().has_value());
    EXPECT_FALSE(sink.all_read());  // one still queued
    // Read from another thread while asking: true once the queue is empty.
    std::thread reader([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        chronyd.receive();
    });
    EXPECT_TRUE(all_read_within(sink, 2'000'000'000));
    reader.join();
}

// The back-off is capped at what the daemon passes (one chrony poll), and the error
// text names the cause only: the same text on every poll of an outage, no countdown.
TEST_F(ChronySockSinkTest, BackoffCapAndStableErrorText) {
    ChronySockSink sink(path_, 4 * kSecNs);  // chrony poll 2
    int64_t mono = 10 * kSecNs;
    auto first = sink.send(make_sample(1, 0), mono);
    ASSERT_FALSE(first.ok());
    std::set<std::string> texts{first.error().message};
    for (int i = 0; i < 200; ++i) {
        mono += kSecNs / 2;  // polls every 0.5 s, during and after each back-off
        auto st = sink.send(make_sample(2 + i, 0), mono);
        ASSERT_FALSE(st.ok());
        texts.insert(st.error().message);
        EXPECT_LE(sink.backoff_ns(), 4 * kSecNs);
    }
    EXPECT_EQ(sink.backoff_ns(), 4 * kSecNs);
    EXPECT_EQ(texts.size(), 1u) << *texts.begin() << " / " << *texts.rbegin();
    EXPECT_EQ(*texts.begin(), "chrony socket " + path_ + ": connect: " + std::strerror(ENOENT));
    EXPECT_EQ(sink.last_error(), std::string("connect: ") + std::strerror(ENOENT));
}

// A restarted chronyd's socket, seen by a directory watch, ends the back-off at once.
TEST_F(ChronySockSinkTest, SocketAppearedEndsTheBackoff) {
    ChronySockSink sink(path_, 30 * kSecNs);
    int64_t mono = kSecNs;
    for (int i = 0; i < 8; ++i) {
        mono = std::max(mono, sink.retry_at_mono_ns());
        ASSERT_FALSE(sink.send(make_sample(1 + i, 0), mono).ok());
    }
    ASSERT_GE(sink.backoff_ns(), 16 * kSecNs);
    FakeChronyd chronyd(path_);
    EXPECT_TRUE(sink.socket_appeared());
    auto st = sink.send(make_sample(5'000, 0), mono + 1);
    ASSERT_TRUE(st.ok()) << st.error().message;
    ASSERT_TRUE(chronyd.receive().has_value());
    EXPECT_EQ(sink.backoff_ns(), 0);
    EXPECT_FALSE(sink.socket_appeared());  // connected: nothing to hurry
}

TEST_F(ChronySockSinkTest, TooLongPathIsAnErrorNotACrash) {
    ChronySockSink sink("/" + std::string(200, 'x'));
    auto st = sink.send(make_sample(1, 0), kSecNs);
    ASSERT_FALSE(st.ok());
    EXPECT_FALSE(sink.connected());
}

}  // namespace
}  // namespace vmrefclock

// Feeds samples to chronyd through its SOCK refclock: one fixed-size datagram per
// sample on a unix socket that chronyd creates (refclock SOCK <path> in chrony.conf).
#pragma once

#include <sys/time.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "filter/result.h"
#include "filter/sink.h"
#include "filter/types.h"

namespace vmrefclock {

// chrony's struct sock_sample (refclock_sock.c), byte for byte on LP64.
struct SockSample {
    timeval tv;     // system time of the measurement, microseconds
    double offset;  // reference - system at tv, seconds
    int pulse;      // 0: a time sample, not a PPS edge
    int leap;       // 0 none, 1 insert, 2 delete; chrony drops anything else
    int _pad;
    int magic;
};
static_assert(sizeof(SockSample) == 40, "chrony expects exactly 40-byte datagrams");
static_assert(offsetof(SockSample, offset) == 16 && offsetof(SockSample, magic) == 36);

inline constexpr int kSockSampleMagic = 0x534f434b;  // "SOCK"

// tv is sample.time_ns floored to a microsecond (toward -inf); the offset is the
// sample's (reference - system), unchanged: chrony reads tv + offset as the reference
// at system time tv, and (reference - system) is the same at tv as at time_ns to well
// under 1 ns, because it changes only by the clocks' relative frequency (ppm).
SockSample to_sock_sample(const Sample& sample);

class ChronySockSink final : public Sink {
  public:
    static constexpr int64_t kMinBackoffNs = 500'000'000;
    static constexpr int64_t kMaxBackoffNs = 30'000'000'000;

    // `max_backoff_ns`: the longest wait between connects while chronyd is away; the
    // daemon passes one chrony poll, so even without a socket watch a restarted chronyd
    // is found within a poll.
    explicit ChronySockSink(std::string socket_path, int64_t max_backoff_ns = kMaxBackoffNs);
    ~ChronySockSink() override;
    ChronySockSink(const ChronySockSink&) = delete;
    ChronySockSink& operator=(const ChronySockSink&) = delete;

    // Sends one datagram, connecting first if needed. Failures are values, and their
    // text depends only on the cause (it holds no countdown), so callers may compare it:
    // - chronyd absent or restarting (connect/send fail): the socket is closed and the
    //   next connect waits out an exponential back-off (0.5 s .. max_backoff_ns, reset
    //   by a successful send); calls during the back-off fail at once without a syscall,
    //   with the failure that started it.
    //   A connection that had worked is retried once at once, so a chronyd that has
    //   already re-bound its socket after a restart loses no sample.
    // - chronyd's receive queue full (EAGAIN): the sample is dropped, the connection kept.
    // `now_mono_ns` is CLOCK_MONOTONIC, used only for the back-off.
    // Logs nothing above debug: the caller logs the failures it handles.
    Status send(const Sample& sample, int64_t now_mono_ns);

    // Sink: the update's sample, `copies` times (a burst: HoldOff::burst_copy), stopping
    // at the first failure.
    bool feeds_clock() const override { return true; }
    Status deliver(const SinkUpdate& update) override;
    SinkStatus status() const override;

    // True when chronyd has read every datagram sent (SIOCOUTQ 0), or when not
    // connected (nothing is queued then). Never waits: after a disruption the caller
    // asks again from its loop until it is true (or it gives up), so that no sample of
    // the old clock is still queued when chrony is reset.
    bool all_read() const;

    // The socket's path was (re)created, e.g. by a restarted chronyd (seen through a
    // directory watch): ends the back-off, so the next send connects at once. True
    // when not connected, i.e. when a send now would reach the new socket first.
    bool socket_appeared();

    bool connected() const { return fd_ >= 0; }
    const std::string& path() const { return path_; }
    // The last failure ("" after a successful send), without the path.
    const std::string& last_error() const { return last_error_; }
    uint64_t sent() const { return sent_; }
    uint64_t dropped() const { return dropped_; }
    // When the next connect may be tried, and the back-off that led there (0 = none).
    // Read by tests only: the back-off schedule is otherwise visible only as the timing
    // of connect attempts.
    int64_t retry_at_mono_ns() const { return retry_at_mono_ns_; }
    int64_t backoff_ns() const { return backoff_ns_; }

  private:
    Status connect_socket();
    Status send_datagram(const SockSample& datagram);
    Status fail(Error error, int64_t now_mono_ns);
    void close_socket();

    std::string path_;
    int64_t max_backoff_ns_;
    int fd_ = -1;
    std::string last_error_;
    int last_error_code_ = 0;
    uint64_t sent_ = 0;
    uint64_t dropped_ = 0;
    int64_t retry_at_mono_ns_ = 0;
    int64_t backoff_ns_ = 0;
    bool delivered_since_connect_ = false;
};

}  // namespace vmrefclock

// A minimal client of chronyd's command protocol (candm.h, protocol version 6, the
// same in chrony 4.3 and 4.8) over its unix command socket: `tracking` and
// `sourcestats` only. The bench talks to chronyd directly instead of running chronyc
// so that the instant chrony answers is known to within the exchange itself (tens of
// microseconds), not a process start-up (milliseconds).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vmrefclock::bench {

struct Tracking {
    double correction_s = 0;  // "System time": chrony's current correction of the system clock
    double last_offset_s = 0;
    double freq_ppm = 0;
    double last_update_interval_s = 0;
    uint32_t ref_id = 0;
};

struct SourceStats {
    uint32_t n_samples = 0;
    double sd_s = 0;          // "Std Dev"
    double est_offset_s = 0;  // "Offset": positive = local clock ahead of the source
    double resid_freq_ppm = 0;
};

// One request in flight at a time; every call waits at most `timeout_ms`.
class ChronyCmd {
  public:
    // `server` is chronyd's bindcmdaddress; the client socket is bound at `client`
    // (a path in a directory chronyd can reach).
    ChronyCmd(std::string server, std::string client);
    ~ChronyCmd();
    ChronyCmd(const ChronyCmd&) = delete;
    ChronyCmd& operator=(const ChronyCmd&) = delete;

    // The reply's values, and through `t_pre`/`t_post` the CLOCK_REALTIME ns read
    // immediately before the request was sent and after the reply arrived.
    std::optional<Tracking> tracking(int64_t* t_pre = nullptr, int64_t* t_post = nullptr,
                                     int timeout_ms = 1000);
    // The first (and in the bench only) source's statistics.
    std::optional<SourceStats> sourcestats(int timeout_ms = 1000);
    const std::string& last_error() const { return error_; }

  private:
    bool ensure_open();
    // Sends `len` bytes of `req` and receives the reply into `rpy`; false on any error.
    bool exchange(unsigned char* req, size_t len, unsigned char* rpy, size_t rpy_len,
                  uint16_t expect_reply, int timeout_ms, int64_t* t_pre, int64_t* t_post);

    std::string server_, client_, error_;
    int fd_ = -1;
    uint32_t sequence_ = 1;
};

// chrony's 32-bit network float: 7-bit signed exponent, 25-bit signed coefficient.
double chrony_float(uint32_t network_order);

}  // namespace vmrefclock::bench

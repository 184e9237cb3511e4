#include "ipc/ctl/clockbound_ctl.h"

#include <time.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "clockbound/clockbound_client.h"

namespace vmrefclock {

namespace {

std::string utc_text(const timespec& t) {
    tm parts{};
    gmtime_r(&t.tv_sec, &parts);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &parts);
    return fmt::format("{}.{:09d}Z", date, t.tv_nsec);
}

// One read: the client is opened per read, so a segment created (or recreated) after
// the command started is found.
struct Reading {
    bool ok = false;
    std::string error;
    vmr_cb_now_result now{};
};

Reading read_once(const ClockBoundPaths& paths) {
    Reading r;
    int error = 0;
    errno = 0;
    vmr_cb_client* client = vmr_cb_open(paths.shm.c_str(), paths.vmclock.c_str(), &error);
    if (!client) {
        r.error = paths.shm + ": " + vmr_cb_strerror(error);
        if (error == VMR_CB_ERR_SYSCALL) r.error += std::string(" (") + std::strerror(errno) + ")";
        return r;
    }
    error = vmr_cb_now(client, &r.now);
    vmr_cb_close(client);
    if (error != VMR_CB_OK) {
        r.error = paths.shm + ": " + vmr_cb_strerror(error);
        return r;
    }
    r.ok = true;
    return r;
}

}  // namespace

Result<int64_t> parse_duration_ns(std::string_view text) {
    double value = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    auto [rest, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || rest == begin) {
        return make_error("not a duration: \"" + std::string(text) + "\" (e.g. 250ms, 1.5s, 10us)");
    }
    const std::string_view unit(rest, static_cast<size_t>(end - rest));
    double scale = 0;
    if (unit.empty() || unit == "s")
        scale = 1e9;
    else if (unit == "ms")
        scale = 1e6;
    else if (unit == "us" || unit == "µs")
        scale = 1e3;
    else if (unit == "ns")
        scale = 1;
    else if (unit == "m" || unit == "min")
        scale = 60e9;
    else if (unit == "h")
        scale = 3600e9;
    const double ns = value * scale;
    if (scale == 0) {
        return make_error("unknown unit \"" + std::string(unit) + "\" in \"" + std::string(text) +
                          "\" (ns, us, ms, s, m, h)");
    }
    if (!(ns >= 0) || ns > 1e18) {
        return make_error("duration out of range: \"" + std::string(text) + "\"");
    }
    return static_cast<int64_t>(std::llround(ns));
}

std::string format_duration_ns(int64_t ns) {
    const double v = static_cast<double>(ns);
    if (std::abs(v) < 1e3) return fmt::format("{} ns", ns);
    if (std::abs(v) < 1e6) return fmt::format("{:.3f} us", v / 1e3);
    if (std::abs(v) < 1e9) return fmt::format("{:.3f} ms", v / 1e6);
    return fmt::format("{:.3f} s", v / 1e9);
}

// The segment and the client say "no bound" with a bound this large (until the daemon
// has measured the clock again after a disruption): printed as such, not as 11.6 days.
static bool unbounded(int64_t bound_ns) {
    return bound_ns >= VMR_CB_UNKNOWN_BOUND_NS;
}

std::string format_bound_ns(int64_t bound_ns) {
    return unbounded(bound_ns) ? "none (not measured since the last disruption)"
                               : format_duration_ns(bound_ns);
}

int clockbound_now(const ClockBoundPaths& paths, std::ostream& out, std::ostream& err) {
    Reading r = read_once(paths);
    if (!r.ok) {
        err << "vmrefclockctl: " << r.error << '\n';
        return 1;
    }
    const bool none = unbounded(r.now.bound_ns);
    out << "earliest  " << (none ? "unbounded" : utc_text(r.now.earliest)) << '\n'
        << "latest    " << (none ? "unbounded" : utc_text(r.now.latest)) << '\n'
        << "bound     " << format_bound_ns(r.now.bound_ns) << '\n'
        << "status    " << vmr_cb_status_name(r.now.status) << '\n';
    return 0;
}

int clockbound_wait_sync(const ClockBoundPaths& paths, const WaitSyncOptions& options,
                         std::ostream& out, std::ostream& err) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::nanoseconds(options.timeout_ns);
    std::string why;
    for (;;) {
        Reading r = read_once(paths);
        if (!r.ok) {
            why = r.error;
        } else if (r.now.status != VMR_CB_STATUS_SYNCHRONIZED) {
            why = fmt::format("status {} (bound {})", vmr_cb_status_name(r.now.status),
                              format_bound_ns(r.now.bound_ns));
        } else if (r.now.bound_ns > options.max_bound_ns) {
            why = fmt::format("bound {} is above the maximum {}", format_bound_ns(r.now.bound_ns),
                              format_duration_ns(options.max_bound_ns));
        } else {
            out << "synchronized: bound " << format_duration_ns(r.now.bound_ns) << '\n';
            return 0;
        }
        const auto now = Clock::now();
        if (now >= deadline) break;
        std::this_thread::sleep_for(std::min<Clock::duration>(
            deadline - now, std::chrono::nanoseconds(options.check_interval_ns)));
    }
    err << "vmrefclockctl: wait-sync timed out after " << format_duration_ns(options.timeout_ns)
        << ": " << why << '\n';
    return 1;
}

}  // namespace vmrefclock

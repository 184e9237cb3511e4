#include "tests/sim/vmclock_sim/host.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace vmrefclock::sim {

namespace {

// TAI - UTC since 2017-01-01; a TAI page publishes UTC truth + this.
constexpr long double kTaiMinusUtcS = 37;

constexpr long double kTwo63 = 9223372036854775808.0L;
constexpr long double kTwo64 = 18446744073709551616.0L;

std::uint64_t to_u64_frac(long double x) {  // x in [0, 2^64]
    if (x <= 0) return 0;
    if (x >= kTwo64) return UINT64_MAX;
    return static_cast<std::uint64_t>(x);
}

}  // namespace

Host::Host(const Options& opts) : opts_(opts) {
    if (opts_.seed) {
        rng_.seed(*opts_.seed);
    } else {
        std::random_device rd;
        rng_.seed((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
    }
    state_.counter_id = opts_.marker_only ? kCounterInvalid : native_counter_id();
    state_.time_type = opts_.time_type;
    state_.disruption_marker = new_marker();
    state_.vm_generation_counter = 1;
    state_.clock_status = kStatusSynchronized;
    state_.leap_indicator = kLeapNone;
    state_.flags = kFlagVmGenCounterPresent;
    if (opts_.tai_offset) {
        state_.tai_offset_sec = *opts_.tai_offset;
        state_.flags |= kFlagTaiOffsetValid;
    }
    // A marker-only page publishes no time, so it claims nothing about its error or monotonicity.
    if (!opts_.marker_only) {
        state_.flags |= kFlagTimeEsterrorValid | kFlagTimeMaxerrorValid | kFlagTimeMonotonic;
        state_.time_esterror_nanosec = opts_.esterror_ns;
        state_.time_maxerror_nanosec = opts_.maxerror_ns;
    }

    calib_.start(100);
    offset_s_ = opts_.offset_s;
    freq_ppm_ = opts_.freq_ppm;
    CounterPair now = tight_pair(CLOCK_REALTIME);
    r0_ns_ = now.clock_ns;
    compose(now);
    if (!opts_.notify_fifo.empty()) {
        if (mkfifo(opts_.notify_fifo.c_str(), 0600) != 0 && errno != EEXIST)
            throw std::runtime_error("cannot make FIFO " + opts_.notify_fifo + ": " +
                                     std::strerror(errno));
        notify_fd_ = open(opts_.notify_fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (notify_fd_ < 0)
            throw std::runtime_error("cannot open FIFO " + opts_.notify_fifo + ": " +
                                     std::strerror(errno));
        state_.flags |= kFlagNotificationPresent;
    }
    page_.emplace(opts_.page, state_);
    write_truth(now.clock_ns);
}

Host::~Host() {
    if (notify_fd_ >= 0) close(notify_fd_);
}

long double Host::offset_at(std::int64_t realtime_ns) const {
    return offset_s_ + static_cast<long double>(freq_ppm_) * 1e-6L *
                           static_cast<long double>(realtime_ns - r0_ns_) * 1e-9L;
}

std::uint64_t Host::new_marker() {
    // Random 64-bit values: a reader can only compare markers, so they must never repeat (and
    // never be 0, which a reader might treat as "no marker yet").
    for (;;) {
        std::uint64_t m = rng_();
        if (m != 0 && used_markers_.insert(m).second) return m;
    }
}

void Host::update(const Event* events, std::size_t n, double t_s) {
    calib_.refine();
    CounterPair now = tight_pair(CLOCK_REALTIME);
    // Events take effect at exactly the instant the new page describes, so the clock model is
    // continuous (or steps by exactly `step`) at a point the page anchors.
    bool disrupting = false;
    for (std::size_t i = 0; i < n; ++i) {
        apply(events[i], now.clock_ns, t_s);
        disrupting |=
            events[i].type == EventType::Disruption || events[i].type == EventType::Generation;
    }
    compose(now);
    page_->publish(published());
    if (disrupting) {
        // The instant the new marker became readable, for latency measurements.
        timespec written{};
        clock_gettime(CLOCK_MONOTONIC, &written);
        disruption_mono_ns_ = std::int64_t{written.tv_sec} * 1'000'000'000 + written.tv_nsec;
    }
    if (notify_fd_ >= 0) {
        // A full FIFO (nobody reading) already says "updated": EAGAIN is fine.
        [[maybe_unused]] ssize_t n = write(notify_fd_, "u", 1);
    }
    write_truth(now.clock_ns);
}

VmclockAbi Host::published() const {
    VmclockAbi out = state_;
    if (!corruption_) return out;
    switch (corruption_->corruption) {
        case Corruption::TimeSecZero:
            out.time_sec = 0;
            break;
        case Corruption::PeriodMax:
            out.counter_period_frac_sec = UINT64_MAX;
            break;
        case Corruption::TimeSec2262:
            out.time_sec = 9223372035;
            break;
        case Corruption::Shift63:
            out.counter_period_shift = 63;
            break;
        case Corruption::CounterJump: {
            // The page's time at the guest's counter c is time + (c - counter_value) * period:
            // an anchor `ticks` earlier puts every reading `seconds` later.
            const auto ticks = static_cast<std::int64_t>(
                std::llround(static_cast<long double>(corruption_->jump_s) * calib_.hz()));
            out.counter_value -= static_cast<std::uint64_t>(ticks);
            break;
        }
        case Corruption::TimeJump: {
            long double frac = std::ldexp(static_cast<long double>(out.time_frac_sec), -64) +
                               static_cast<long double>(corruption_->jump_s);
            const long double whole = std::floor(frac);
            out.time_sec += static_cast<std::uint64_t>(static_cast<std::int64_t>(whole));
            out.time_frac_sec = to_u64_frac(std::ldexp(frac - whole, 64));
            break;
        }
        default:  // the header and the file itself, changed by corrupt()
            break;
    }
    return out;
}

void Host::corrupt(const Event& e, bool start, double t_s) {
    std::printf("vmclock-sim: t=%.1f s corrupt %s %s%s\n", t_s, corruption_name(e.corruption),
                start ? "start" : "end",
                start ? (" for " + std::to_string(e.duration_s) + " s").c_str() : "");
    std::fflush(stdout);
    corruption_.reset();
    switch (e.corruption) {
        case Corruption::BadMagic:
            page_->set_header(start ? 0x4b4c4357 : kVmclockMagic, 1, kPageSize);
            break;
        case Corruption::BadVersion:
            page_->set_header(kVmclockMagic, start ? 2 : 1, kPageSize);
            break;
        case Corruption::BadSize:
            page_->set_header(kVmclockMagic, 1, start ? 64 : kPageSize);
            break;
        case Corruption::Truncate:
            if (start) {
                page_->truncate();
            } else {
                page_->restore(state_);
            }
            break;
        case Corruption::Replace:
        case Corruption::Fifo:
            if (start) {
                if (unlink(opts_.page.c_str()) != 0 && errno != ENOENT) {
                    throw std::runtime_error("cannot delete " + opts_.page + ": " +
                                             std::strerror(errno));
                }
                if (e.corruption == Corruption::Fifo && mkfifo(opts_.page.c_str(), 0644) != 0) {
                    throw std::runtime_error("cannot make a FIFO at " + opts_.page + ": " +
                                             std::strerror(errno));
                }
            } else {
                page_.reset();                      // the old, deleted inode
                page_.emplace(opts_.page, state_);  // a new one, renamed over the FIFO if any
            }
            break;
        default:  // field corruptions: applied by published() while in force
            break;
    }
    if (start) corruption_ = e;
}

void Host::apply(const Event& e, std::int64_t realtime_ns, double t_s) {
    switch (e.type) {
        case EventType::Disruption:
        case EventType::Generation: {
            // Re-anchor at this instant, then jump: the new host clock differs by exactly step.
            offset_s_ = offset_at(realtime_ns) + e.step_s;
            r0_ns_ = realtime_ns;
            state_.disruption_marker = new_marker();
            ++disruptions_;
            if (e.type == EventType::Generation) {
                // A snapshot restore: the generation changes and the counter is disrupted too.
                ++state_.vm_generation_counter;
                std::printf(
                    "vmclock-sim: t=%.1f s generation generation=%llu marker=0x%016llx "
                    "step=%+.6f s\n",
                    t_s, static_cast<unsigned long long>(state_.vm_generation_counter),
                    static_cast<unsigned long long>(state_.disruption_marker), e.step_s);
            } else {
                std::printf("vmclock-sim: t=%.1f s disruption marker=0x%016llx step=%+.6f s%s\n",
                            t_s, static_cast<unsigned long long>(state_.disruption_marker),
                            e.step_s, e.from_signal ? " (SIGUSR1)" : "");
            }
            break;
        }
        case EventType::Frequency:
            // Keep truth continuous at the change: the old rate applies up to now, the new one
            // from now on.
            offset_s_ = offset_at(realtime_ns);
            r0_ns_ = realtime_ns;
            freq_ppm_ = e.freq_ppm;
            std::printf("vmclock-sim: t=%.1f s frequency freq_ppm=%+.3f offset=%+.9Lf s\n", t_s,
                        freq_ppm_, offset_s_);
            break;
        case EventType::Status:
            state_.clock_status = e.status;
            std::printf("vmclock-sim: t=%.1f s status %s (%u)\n", t_s, status_name(e.status),
                        e.status);
            break;
        case EventType::Leap:
            state_.leap_indicator = e.leap;
            std::printf("vmclock-sim: t=%.1f s leap %s (%u)\n", t_s, leap_name(e.leap), e.leap);
            break;
        case EventType::Corrupt:
        case EventType::CorruptEnd:
            corrupt(e, e.type == EventType::Corrupt, t_s);
            break;
        case EventType::Maintenance:
            state_.flags &= ~(kFlagDisruptionSoon | kFlagDisruptionImminent);
            if (e.maintenance == Maintenance::Soon) state_.flags |= kFlagDisruptionSoon;
            if (e.maintenance == Maintenance::Imminent) state_.flags |= kFlagDisruptionImminent;
            std::printf("vmclock-sim: t=%.1f s maintenance %s flags=0x%llx\n", t_s,
                        maintenance_name(e.maintenance),
                        static_cast<unsigned long long>(state_.flags));
            break;
    }
    std::fflush(stdout);
}

void Host::compose(const CounterPair& now) {
    if (opts_.marker_only) {
        state_.counter_period_shift = 0;
        state_.counter_value = 0;
        state_.counter_period_frac_sec = 0;
        state_.time_sec = 0;
        state_.time_frac_sec = 0;
        return;
    }

    // Time at counter_value: whole seconds of R plus everything else as a fraction, folded.
    long double off = offset_at(now.clock_ns);
    if (opts_.jitter_s > 0) off += std::normal_distribution<double>(0, opts_.jitter_s)(rng_);
    if (opts_.time_type == kTimeTypeTai) off += kTaiMinusUtcS;
    std::int64_t sec = now.clock_ns / 1'000'000'000;
    std::int64_t rem_ns = now.clock_ns % 1'000'000'000;
    if (rem_ns < 0) {
        rem_ns += 1'000'000'000;
        --sec;
    }
    long double frac = (static_cast<long double>(rem_ns) + off * 1e9L) / 1e9L;
    long double whole = std::floor(frac);
    sec += static_cast<std::int64_t>(whole);
    frac -= whole;
    state_.counter_value = now.counter;
    state_.time_sec = static_cast<std::uint64_t>(sec);
    state_.time_frac_sec = to_u64_frac(std::ldexp(frac, 64));

    // Seconds per tick of the host clock, scaled by 2^(64 + shift) into [2^63, 2^64): the
    // largest shift that fits keeps all 64 bits significant (the brief asks for >= 62).
    long double period = (1.0L + static_cast<long double>(freq_ppm_) * 1e-6L) / calib_.hz();
    long double v = std::ldexp(period, 64);
    int shift = 0;
    while (v < kTwo63 && shift < 255) {
        v *= 2;
        ++shift;
    }
    v = std::round(v);
    if (v >= kTwo64 && shift > 0) {  // rounding carried past 2^64
        v /= 2;
        --shift;
    }
    state_.counter_period_shift = static_cast<std::uint8_t>(shift);
    state_.counter_period_frac_sec = to_u64_frac(v);
}

void Host::write_truth(std::int64_t realtime_ns) const {
    if (opts_.truth_file.empty()) return;
    char buf[512];
    int len = std::snprintf(
        buf, sizeof buf,
        "realtime_ns=%lld\noffset_ns=%.3Lf\nfreq_ppm=%.9f\ndisruptions=%llu\nmarker=%llu\n"
        "generation=%llu\nstatus=%u\ndisruption_mono_ns=%lld\n",
        static_cast<long long>(realtime_ns), offset_at(realtime_ns) * 1e9L, freq_ppm_,
        static_cast<unsigned long long>(disruptions_),
        static_cast<unsigned long long>(state_.disruption_marker),
        static_cast<unsigned long long>(state_.vm_generation_counter), state_.clock_status,
        static_cast<long long>(disruption_mono_ns_));
    // tmp + rename: a test reading the file never sees it half-written.
    std::string tmp = opts_.truth_file + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write(fd, buf, static_cast<std::size_t>(len)) == len;
    if (fd >= 0) close(fd);
    if (!ok || rename(tmp.c_str(), opts_.truth_file.c_str()) != 0)
        throw std::runtime_error("cannot write truth file " + opts_.truth_file + ": " +
                                 std::strerror(errno));
}

}  // namespace vmrefclock::sim

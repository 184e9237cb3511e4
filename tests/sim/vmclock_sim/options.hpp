// Command-line flags of vmclock-sim. Hand-parsed (a dozen flags) so every bad flag or value gives
// exactly one line naming the flag, and negative values ("--tai-offset -37") just work.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace vmrefclock::sim {

struct Options {
    std::string page;
    double offset_s = 0;  // host clock - CLOCK_REALTIME at start
    double freq_ppm = 0;  // host clock rate relative to CLOCK_REALTIME
    double jitter_s = 0;  // sigma of the gaussian noise added to each published time
    double update_interval_s = 1.0;
    std::uint8_t time_type = 0;              // 0 UTC, 1 TAI
    std::optional<std::int16_t> tai_offset;  // published tai_offset_sec (UTC - TAI)
    bool marker_only = false;
    double duration_s = 0;  // 0 = until signalled
    std::string scenario;
    double disrupt_step_s = 0;  // clock step applied with the disruption SIGUSR1 triggers
    std::string truth_file;
    std::uint64_t maxerror_ns = 1000;
    std::uint64_t esterror_ns = 100;
    std::optional<std::uint64_t> seed;
    // A FIFO written after each update, with NOTIFICATION_PRESENT set in the page: stands in
    // for the vmclock device becoming readable (a page file cannot).
    std::string notify_fifo;
};

// A bad command line; what() is the one line to print.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws UsageError. Returns std::nullopt when --help was given (usage already printed).
std::optional<Options> parse_options(int argc, char** argv);

// Largest |freq_ppm| accepted, from flags and scenarios: keeps the counter period positive and
// the shift arithmetic far from its edges.
inline constexpr double kMaxFreqPpm = 100000;

}  // namespace vmrefclock::sim

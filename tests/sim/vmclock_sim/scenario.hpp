// Timed events for the simulated host, from a TOML scenario ([[event]] tables) or SIGUSR1.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace vmrefclock::sim {

enum class EventType {
    Disruption,
    Frequency,
    Status,
    Leap,
    Maintenance,
    Generation,
    Corrupt,     // a hostile or buggy host: one thing on the page is wrong for `duration` s
    CorruptEnd,  // added by load_scenario at at + duration: the page is valid again
};

enum class Maintenance : std::uint8_t { None, Soon, Imminent };

// What a corrupt event breaks (its "what" key), while the truth file stays the clean model.
enum class Corruption : std::uint8_t {
    TimeSecZero,  // "time_sec_zero": time_sec = 0 (1970)
    PeriodMax,    // "period_max": counter_period_frac_sec = 2^64 - 1
    TimeSec2262,  // "time_sec_2262": time_sec = 9223372035
    Shift63,      // "shift_63": counter_period_shift = 63 (time stands still)
    CounterJump,  // "counter_jump": counter_value moved so the page's time jumps by `seconds`
    TimeJump,     // "time_jump": time_sec/time_frac_sec moved by `seconds`
    BadMagic,     // "bad_magic", "bad_version", "bad_size": the header field is wrong
    BadVersion,
    BadSize,
    Truncate,  // "truncate": the file is truncated to 0 bytes, then rewritten whole
    Replace,   // "replace": the file is deleted, then created again (a new inode)
    Fifo,      // "fifo": the file is deleted and a FIFO made in its place, then the page
};

struct Event {
    double at_s = 0;  // seconds after start
    EventType type = EventType::Disruption;
    double step_s = 0;          // disruption, generation: host clock jump
    double freq_ppm = 0;        // frequency
    std::uint8_t status = 0;    // status: clock_status value
    std::uint8_t leap = 0;      // leap: leap_indicator value
    Maintenance maintenance{};  // maintenance
    Corruption corruption{};    // corrupt, corrupt-end
    double duration_s = 0;      // corrupt
    double jump_s = 0;          // corrupt: counter_jump, time_jump ("seconds")
    bool from_signal = false;   // SIGUSR1 rather than the scenario (printed)
};

// A bad scenario file; what() is one line naming the file, the event index and the key.
struct ScenarioError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Parses and validates the whole file up front (a typo must fail at start, not at t = 600 s).
// Returns the events sorted by time (stable: same-time events keep file order).
std::vector<Event> load_scenario(const std::string& path);

const char* event_name(EventType t);
const char* status_name(std::uint8_t status);
const char* leap_name(std::uint8_t leap);
const char* maintenance_name(Maintenance m);
const char* corruption_name(Corruption c);

}  // namespace vmrefclock::sim

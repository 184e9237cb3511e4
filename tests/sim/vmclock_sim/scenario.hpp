// Timed events for the simulated host, from a TOML scenario ([[event]] tables) or SIGUSR1.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace vmrefclock::sim {

enum class EventType { Disruption, Frequency, Status, Leap, Maintenance, Generation };

enum class Maintenance : std::uint8_t { None, Soon, Imminent };

struct Event {
    double at_s = 0;  // seconds after start
    EventType type = EventType::Disruption;
    double step_s = 0;          // disruption, generation: host clock jump
    double freq_ppm = 0;        // frequency
    std::uint8_t status = 0;    // status: clock_status value
    std::uint8_t leap = 0;      // leap: leap_indicator value
    Maintenance maintenance{};  // maintenance
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

}  // namespace vmrefclock::sim

#include "tests/sim/vmclock_sim/scenario.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string_view>

#include "tests/sim/vmclock_sim/options.hpp"

namespace vmrefclock::sim {

namespace {

constexpr std::array<const char*, 5> kStatusNames = {"unknown", "initializing", "synchronized",
                                                     "freerunning", "unreliable"};
// Index = leap_indicator value.
constexpr std::array<const char*, 6> kLeapNames = {"none",     "pre-positive",  "pre-negative",
                                                   "positive", "post-positive", "post-negative"};
constexpr std::array<const char*, 3> kMaintenanceNames = {"none", "soon", "imminent"};
// Index = Corruption value.
constexpr std::array<const char*, 12> kCorruptionNames = {
    "time_sec_zero", "period_max",  "time_sec_2262", "shift_63", "counter_jump", "time_jump",
    "bad_magic",     "bad_version", "bad_size",      "truncate", "replace",      "fifo"};

struct TypeInfo {
    EventType type;
    const char* name;
    std::vector<std::string_view> keys;  // allowed besides "at" and "type"
};

const std::vector<TypeInfo>& types() {
    static const std::vector<TypeInfo> t = {
        {EventType::Disruption, "disruption", {"step"}},
        {EventType::Frequency, "frequency", {"freq_ppm"}},
        {EventType::Status, "status", {"status"}},
        {EventType::Leap, "leap", {"leap"}},
        {EventType::Maintenance, "maintenance", {"level"}},
        {EventType::Generation, "generation", {"step"}},
        {EventType::Corrupt, "corrupt", {"what", "duration", "seconds"}},
    };
    return t;
}

class EventReader {
  public:
    EventReader(const std::string& path, std::size_t index, const toml::table& t)
        : prefix_(path + ": event[" + std::to_string(index) + "]"), t_(t) {}

    [[noreturn]] void fail(std::string_view key, const std::string& what) const {
        throw ScenarioError(prefix_ + " key \"" + std::string(key) + "\": " + what);
    }

    std::optional<double> number(std::string_view key) const {
        const toml::node* n = t_.get(key);
        if (n == nullptr) return std::nullopt;
        if (!n->is_number()) fail(key, "must be a number");
        double d = n->value<double>().value_or(NAN);
        if (!std::isfinite(d)) fail(key, "must be finite");
        return d;
    }

    std::optional<std::string> string(std::string_view key) const {
        const toml::node* n = t_.get(key);
        if (n == nullptr) return std::nullopt;
        if (!n->is_string()) fail(key, "must be a string");
        return *n->value<std::string>();
    }

    template <std::size_t N>
    std::uint8_t choice(std::string_view key, const std::array<const char*, N>& names) const {
        std::optional<std::string> s = string(key);
        if (!s) fail(key, "is required");
        for (std::size_t i = 0; i < N; ++i)
            if (*s == names[i]) return static_cast<std::uint8_t>(i);
        std::string all;
        for (const char* n : names) all += std::string(all.empty() ? "" : "|") + n;
        fail(key, "\"" + *s + "\" is not one of " + all);
    }

  private:
    std::string prefix_;
    const toml::table& t_;
};

Event parse_event(const std::string& path, std::size_t index, const toml::table& t) {
    EventReader r(path, index, t);
    Event e;
    std::optional<double> at = r.number("at");
    if (!at) r.fail("at", "is required (seconds after start)");
    if (*at < 0) r.fail("at", "must be >= 0");
    e.at_s = *at;

    std::optional<std::string> type = r.string("type");
    if (!type) r.fail("type", "is required");
    const TypeInfo* info = nullptr;
    for (const TypeInfo& ti : types())
        if (*type == ti.name) info = &ti;
    if (info == nullptr)
        r.fail("type", "unknown event type \"" + *type +
                           "\" (disruption|frequency|status|leap|maintenance|generation|corrupt)");
    e.type = info->type;

    for (const auto& [k, v] : t) {
        std::string_view key = k.str();
        if (key == "at" || key == "type") continue;
        if (std::find(info->keys.begin(), info->keys.end(), key) == info->keys.end())
            r.fail(key, std::string("unknown key for a ") + info->name + " event");
    }

    switch (e.type) {
        case EventType::Disruption:
        case EventType::Generation:
            e.step_s = r.number("step").value_or(0);
            if (std::fabs(e.step_s) >= 1e6) r.fail("step", "is too large");
            break;
        case EventType::Frequency: {
            std::optional<double> f = r.number("freq_ppm");
            if (!f) r.fail("freq_ppm", "is required");
            if (std::fabs(*f) > kMaxFreqPpm) r.fail("freq_ppm", "exceeds +-100000 ppm");
            e.freq_ppm = *f;
            break;
        }
        case EventType::Status:
            e.status = r.choice("status", kStatusNames);
            break;
        case EventType::Leap:
            e.leap = r.choice("leap", kLeapNames);
            break;
        case EventType::Maintenance:
            e.maintenance = static_cast<Maintenance>(r.choice("level", kMaintenanceNames));
            break;
        case EventType::Corrupt: {
            e.corruption = static_cast<Corruption>(r.choice("what", kCorruptionNames));
            std::optional<double> d = r.number("duration");
            if (!d) r.fail("duration", "is required (seconds the page stays corrupt)");
            if (*d <= 0 || *d > 1e6) r.fail("duration", "must be in (0, 1e6] s");
            e.duration_s = *d;
            e.jump_s = r.number("seconds").value_or(0);
            if (std::fabs(e.jump_s) >= 1e6) r.fail("seconds", "is too large");
            const bool jump =
                e.corruption == Corruption::CounterJump || e.corruption == Corruption::TimeJump;
            if (jump && e.jump_s == 0) r.fail("seconds", "is required for a jump");
            break;
        }
        case EventType::CorruptEnd:
            break;
    }
    return e;
}

}  // namespace

std::vector<Event> load_scenario(const std::string& path) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& err) {
        const auto& b = err.source().begin;
        std::string where =
            b.line > 0 ? ":" + std::to_string(b.line) + ":" + std::to_string(b.column) : "";
        throw ScenarioError(path + where + ": " + std::string(err.description()));
    }
    std::vector<Event> events;
    for (const auto& [k, v] : root) {
        if (k.str() != "event")
            throw ScenarioError(path + ": unknown top-level key \"" + std::string(k.str()) +
                                "\" (only [[event]] tables are allowed)");
        const toml::array* arr = v.as_array();
        if (arr == nullptr)
            throw ScenarioError(path + ": \"event\" must be an array of tables ([[event]])");
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const toml::table* t = (*arr)[i].as_table();
            if (t == nullptr)
                throw ScenarioError(path + ": event[" + std::to_string(i) + "] is not a table");
            events.push_back(parse_event(path, i, *t));
            if (events.back().type == EventType::Corrupt) {
                Event end = events.back();
                end.type = EventType::CorruptEnd;
                end.at_s += end.duration_s;
                events.push_back(end);
            }
        }
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.at_s < b.at_s; });
    return events;
}

const char* event_name(EventType t) {
    if (t == EventType::CorruptEnd) return "corrupt-end";
    for (const TypeInfo& ti : types())
        if (ti.type == t) return ti.name;
    return "?";
}

const char* status_name(std::uint8_t s) {
    return s < kStatusNames.size() ? kStatusNames[s] : "?";
}
const char* leap_name(std::uint8_t l) {
    return l < kLeapNames.size() ? kLeapNames[l] : "?";
}
const char* maintenance_name(Maintenance m) {
    return kMaintenanceNames[static_cast<std::size_t>(m)];
}
const char* corruption_name(Corruption c) {
    return kCorruptionNames[static_cast<std::size_t>(c)];
}

}  // namespace vmrefclock::sim

// Status fields declared once. Each status record type S has a table,
//   constexpr auto fields_of(std::type_identity<S>) { return std::tuple{field(...), ...}; }
// found by argument-dependent lookup, and that one declaration per field (JSON key,
// member, unit, help, metric, text row) drives the JSON encoder and decoder here and
// the generic parts of the text and Prometheus renderers (status_render.cpp).
//
// Decoding is tolerant in the two ways that let a newer vmrefclockctl read an older
// vmrefclockd and the other way round: a missing key leaves the field at its default
// (an optional one absent) and is listed as not reported; an unknown key is ignored.
// A value of the wrong type or out of range is an error naming the field.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vmrefclock {

// What a number means. It picks the text format, and a Prometheus metric of a
// nanosecond quantity is exported in seconds.
enum class Unit {
    none,
    ns,       // a duration in nanoseconds
    s,        // a duration in seconds
    ppm,      // a frequency ratio
    time_ns,  // a CLOCK_REALTIME time point in nanoseconds
    utc,      // a time point in nanoseconds that JSON carries as RFC 3339 UTC text
};

enum class Metric {
    none,       // not exported (a record is searched for exported fields)
    gauge,      // vmrefclock_NAME value, left out while the value is absent
    counter,    // the same, TYPE counter (NAME ends in _total)
    state_set,  // one sample per possible value: 1 for the current one, 0 for the others
    info,       // a sample of 1 whose labels are the value (a string or a record's strings)
    label,      // in a list's records: labels that record's samples {LABEL="value"}
};

template <class T>
struct Unoptional {
    using type = T;
};
template <class T>
struct Unoptional<std::optional<T>> {
    using type = T;
};

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;
template <class T>
inline constexpr bool is_vector_v = false;
template <class T>
inline constexpr bool is_vector_v<std::vector<T>> = true;

template <class S, class T>
struct Field {
    using Shown = typename Unoptional<T>::type;

    const char* key;  // the JSON key
    T S::*member;
    Unit unit;
    const char* help;  // what it means; also the metric's HELP line
    Metric metric = Metric::none;
    const char* metric_name = nullptr;   // without the vmrefclock_ prefix
    const char* metric_label = nullptr;  // state_set, info of a string, label
    std::span<const std::string_view> states{};
    const char* text_label = nullptr;  // a generic row of the text view
    std::string (*text_format)(const Shown&) = nullptr;

    constexpr Field gauge(const char* name) const {
        static_assert(std::is_arithmetic_v<Shown>, "a gauge's value is a number or a bool");
        return exported(Metric::gauge, name);
    }
    constexpr Field counter(const char* name) const {
        static_assert(std::is_arithmetic_v<Shown>, "a counter's value is a number");
        return exported(Metric::counter, name);
    }
    constexpr Field state_set(const char* name, const char* label,
                              std::span<const std::string_view> values) const {
        static_assert(std::is_enum_v<T> || std::is_same_v<T, std::string>,
                      "a state set's value is an enum or a word");
        Field f = exported(Metric::state_set, name);
        f.metric_label = label;
        f.states = values;
        return f;
    }
    constexpr Field info(const char* name, const char* label = nullptr) const {
        static_assert(std::is_same_v<T, std::string> || std::is_class_v<T>,
                      "an info metric's labels are a string or a record's strings");
        Field f = exported(Metric::info, name);
        f.metric_label = label;
        return f;
    }
    constexpr Field labels_list_metrics(const char* label) const {
        static_assert(std::is_same_v<T, std::string>, "a label's value is a string");
        Field f = exported(Metric::label, nullptr);
        f.metric_label = label;
        return f;
    }
    // A row "label  value" in the text view, after the hand-made rows; `format`
    // replaces the unit's format. A list gives one row per record: "label NAME:".
    constexpr Field text(const char* label, std::string (*format)(const Shown&) = nullptr) const {
        Field f = *this;
        f.text_label = label;
        f.text_format = format;
        return f;
    }

  private:
    constexpr Field exported(Metric kind, const char* name) const {
        Field f = *this;
        f.metric = kind;
        f.metric_name = name;
        return f;
    }
};

template <class S, class T>
constexpr Field<S, T> field(const char* key, T S::*member, Unit unit, const char* help) {
    return {key, member, unit, help};
}

template <class S>
concept StatusRecord = requires {
    fields_of(std::type_identity<S>{});
};

template <StatusRecord S, class Fn>
constexpr void for_each_field(Fn&& fn) {
    std::apply([&](const auto&... f) { (fn(f), ...); }, fields_of(std::type_identity<S>{}));
}

// The values of a list record's Metric::label fields, which tell the records apart.
template <StatusRecord R, class Fn>
void for_each_list_label(const R& r, Fn&& fn) {
    for_each_field<R>([&](const auto& f) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(r.*f.member)>, std::string>) {
            if (f.metric == Metric::label) fn(f.metric_label, r.*f.member);
        }
    });
}

// RFC 3339 UTC with milliseconds ("2026-01-05T12:34:56.789Z") and back.
std::string format_utc(int64_t realtime_ns);
std::optional<int64_t> parse_utc(std::string_view text);

// A json::exception, so callers that catch those keep working; what() is the plain
// message: 'field "chrony.connected" must be true or false, not "yes"'.
class StatusFieldError : public nlohmann::json::exception {
  public:
    explicit StatusFieldError(const std::string& message) : exception(0, message.c_str()) {}
};

// Where a value sits: "host.vm_generation", "sinks[1].dropped"; its text is built only
// for an error or a missing field.
struct StatusPath {
    const StatusPath* parent = nullptr;
    const char* key = nullptr;  // null: an element of a list, at `index`
    size_t index = 0;

    std::string text() const {
        std::string head = parent ? parent->text() : std::string();
        if (key) return head.empty() ? std::string(key) : head + "." + key;
        return parent ? head + "[" + std::to_string(index) + "]" : head;
    }
};

namespace status_json {

using nlohmann::json;

template <class T>
json encode(const T& v, Unit unit) {
    if constexpr (is_optional_v<T>) {
        return v ? encode(*v, unit) : json(nullptr);
    } else if constexpr (is_vector_v<T>) {
        json list = json::array();
        for (const auto& e : v) list.push_back(encode(e, unit));
        return list;
    } else if constexpr (StatusRecord<T>) {
        json object = json::object();
        for_each_field<T>([&](const auto& f) { object[f.key] = encode(v.*f.member, f.unit); });
        return object;
    } else if constexpr (std::is_enum_v<T>) {
        return std::string(to_string(v));
    } else if constexpr (std::is_floating_point_v<T>) {
        // NaN and inf would be written as null and could not be read back as numbers.
        return std::isfinite(v) ? json(v) : json(nullptr);
    } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        return unit == Unit::utc ? json(format_utc(v)) : json(v);
    } else {
        return json(v);
    }
}

[[noreturn]] inline void fail(const StatusPath& path, const std::string& problem) {
    const std::string where = path.text();
    throw StatusFieldError(where.empty() ? "the status " + problem
                                         : "field \"" + where + "\" " + problem);
}

[[noreturn]] inline void wrong_type(const StatusPath& path, const json& j, const char* expected) {
    std::string shown = j.dump(-1, ' ', false, json::error_handler_t::replace);
    if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
    fail(path, std::string("must be ") + expected + ", not " + shown);
}

template <class T>
T integer(const json& j, const StatusPath& path) {
    constexpr const char* expected = std::is_signed_v<T> ? "an integer" : "a non-negative integer";
    if (j.is_number_unsigned()) {
        const uint64_t v = j.get<uint64_t>();
        if (std::cmp_greater(v, std::numeric_limits<T>::max())) wrong_type(path, j, expected);
        return static_cast<T>(v);
    }
    if (!j.is_number_integer()) wrong_type(path, j, expected);
    const int64_t v = j.get<int64_t>();
    if (std::cmp_less(v, std::numeric_limits<T>::min()) ||
        std::cmp_greater(v, std::numeric_limits<T>::max())) {
        wrong_type(path, j, expected);
    }
    return static_cast<T>(v);
}

// Decodes into fresh values, so a failed decode leaves the target as it was.
struct Decoder {
    std::vector<std::string>* not_reported = nullptr;

    template <StatusRecord S>
    void record(const json& j, S& out, const StatusPath& path) const {
        if (!j.is_object()) wrong_type(path, j, "an object");
        S fresh{};
        for_each_field<S>([&](const auto& f) {
            const StatusPath here{&path, f.key};
            const auto it = j.find(f.key);
            using T = std::remove_cvref_t<decltype(fresh.*f.member)>;
            // Null is how an optional field says "absent"; anywhere else it is as if the
            // daemon had not sent the field.
            if (it == j.end() || (it->is_null() && !is_optional_v<T>)) {
                if (not_reported) not_reported->push_back(here.text());
                return;
            }
            value(*it, fresh.*f.member, f.unit, here);
        });
        out = std::move(fresh);
    }

    template <class T>
    void value(const json& j, T& out, Unit unit, const StatusPath& path) const {
        if constexpr (is_optional_v<T>) {
            if (j.is_null()) {
                out.reset();
            } else {
                typename T::value_type inner{};
                value(j, inner, unit, path);
                out = std::move(inner);
            }
        } else if constexpr (is_vector_v<T>) {
            if (!j.is_array()) wrong_type(path, j, "a list");
            T list(j.size());
            for (size_t i = 0; i < list.size(); ++i) {
                value(j[i], list[i], unit, StatusPath{&path, nullptr, i});
            }
            out = std::move(list);
        } else if constexpr (StatusRecord<T>) {
            record(j, out, path);
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (!j.is_string()) wrong_type(path, j, "a string");
            out = j.get_ref<const std::string&>();
        } else if constexpr (std::is_same_v<T, bool>) {
            if (!j.is_boolean()) wrong_type(path, j, "true or false");
            out = j.get<bool>();
        } else if constexpr (std::is_enum_v<T>) {
            if (!j.is_string()) wrong_type(path, j, "a string");
            const auto parsed = enum_from_string(std::type_identity<T>{}, j.get<std::string>());
            if (!parsed) fail(path, "has an unknown value " + j.dump());
            out = *parsed;
        } else if constexpr (std::is_integral_v<T>) {
            if (unit != Unit::utc) {
                out = integer<T>(j, path);
                return;
            }
            if (!j.is_string()) wrong_type(path, j, "an RFC 3339 UTC time");
            const auto time = parse_utc(j.get_ref<const std::string&>());
            if (!time) wrong_type(path, j, "an RFC 3339 UTC time like 2026-01-05T12:34:56.789Z");
            out = static_cast<T>(*time);
        } else {
            static_assert(std::is_floating_point_v<T>, "a status field type the codec lacks");
            if (!j.is_number()) wrong_type(path, j, "a number");
            out = j.get<T>();
        }
    }
};

}  // namespace status_json

// nlohmann's get<S>() and json(S) for every status record.
template <StatusRecord S>
void to_json(nlohmann::json& j, const S& v) {
    j = status_json::encode(v, Unit::none);
}

template <StatusRecord S>
void from_json(const nlohmann::json& j, S& v) {
    status_json::Decoder{}.record(j, v, StatusPath{});
}

}  // namespace vmrefclock

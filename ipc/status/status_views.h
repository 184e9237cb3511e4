// The generic views of any status record, walks over its field table: the Prometheus
// families (text exposition format 0.0.4, every metric prefixed `vmrefclock_`) of the
// fields it exports, and the text rows it declares. status_render.cpp uses them for a
// StatusSnapshot; a header so that tests can walk records of their own.
#pragma once

#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ipc/status/status.h"

namespace vmrefclock::status_views {

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
inline std::string label_value(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

// Go's %g-like shortest form is not needed; %.17g round-trips every double.
inline std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

class Exposition {
  public:
    // HELP and TYPE once per family, then its samples.
    void family(const char* name, const char* type, const char* help) {
        if (name == family_) return;  // a list's next record
        family_ = name;
        out_ << "# HELP vmrefclock_" << name << ' ' << help << '\n';
        out_ << "# TYPE vmrefclock_" << name << ' ' << type << '\n';
    }
    void sample(const char* name, double value, const std::string& labels = {}) {
        out_ << "vmrefclock_" << name;
        if (!labels.empty()) out_ << '{' << labels << '}';
        out_ << ' ' << number(value) << '\n';
    }
    std::string str() const { return out_.str(); }

  private:
    std::ostringstream out_;
    std::string_view family_;
};

inline std::string join_labels(const std::string& a, const std::string& b) {
    return a.empty() ? b : b.empty() ? a : a + "," + b;
}

inline std::string label(const char* name, std::string_view value) {
    return std::string(name) + "=\"" + label_value(value) + "\"";
}

// The number a metric exports: absent stays absent (left out rather than exported as a
// misleading 0), a bool is 0 or 1, nanoseconds become seconds.
template <class T>
std::optional<double> metric_number(const T& v, Unit unit) {
    if constexpr (is_optional_v<T>) {
        return v ? metric_number(*v, unit) : std::nullopt;
    } else if constexpr (std::is_arithmetic_v<T>) {
        const bool ns = unit == Unit::ns || unit == Unit::time_ns || unit == Unit::utc;
        return ns ? static_cast<double>(v) / 1e9 : static_cast<double>(v);
    } else {
        return std::nullopt;  // not reached: Field::gauge/counter take numbers only
    }
}

template <class T>
std::string_view state_word(const T& v) {
    if constexpr (std::is_enum_v<T>) {
        return to_string(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
        return v;
    } else {
        return {};
    }
}

// An info metric's labels: the string itself, or each of the record's strings by key.
template <class T>
std::string info_labels(const T& v, const char* name) {
    if constexpr (std::is_same_v<T, std::string>) {
        return label(name, v);
    } else if constexpr (StatusRecord<T>) {
        std::string out;
        for_each_field<T>([&](const auto& f) {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(v.*f.member)>, std::string>) {
                out = join_labels(out, label(f.key, v.*f.member));
            }
        });
        return out;
    } else {
        return {};
    }
}

// The labels that tell a list's records apart: {sink="chrony"}.
template <StatusRecord R>
std::string list_labels(const R& r) {
    std::string out;
    for_each_list_label(r, [&](const char* name, const std::string& value) {
        out = join_labels(out, label(name, value));
    });
    return out;
}

template <StatusRecord S>
void export_metrics(Exposition& e, const S& s, const std::string& labels);

template <StatusRecord R>
void export_list(Exposition& e, const std::vector<R>& list);

// One field's samples; the family's HELP and TYPE come before its first sample.
template <class F, class T>
void export_field(Exposition& e, const F& f, const T& v, const std::string& labels) {
    using Shown = typename Unoptional<T>::type;
    switch (f.metric) {
        case Metric::gauge:
        case Metric::counter:
            if (auto x = metric_number(v, f.unit)) {
                e.family(f.metric_name, f.metric == Metric::gauge ? "gauge" : "counter", f.help);
                e.sample(f.metric_name, *x, labels);
            }
            return;
        case Metric::state_set:
            e.family(f.metric_name, "gauge", f.help);
            for (std::string_view state : f.states) {
                e.sample(f.metric_name, state == state_word(v) ? 1 : 0,
                         join_labels(labels, label(f.metric_label, state)));
            }
            return;
        case Metric::info:
            e.family(f.metric_name, "gauge", f.help);
            e.sample(f.metric_name, 1, join_labels(labels, info_labels(v, f.metric_label)));
            return;
        case Metric::label:
            return;
        case Metric::none:
            if constexpr (StatusRecord<Shown>) {
                if constexpr (is_optional_v<T>) {
                    if (v) export_metrics(e, *v, labels);
                } else {
                    export_metrics(e, v, labels);
                }
            } else if constexpr (is_vector_v<T>) {
                if constexpr (StatusRecord<typename T::value_type>) export_list(e, v);
            }
            return;
    }
}

template <StatusRecord S>
void export_metrics(Exposition& e, const S& s, const std::string& labels) {
    for_each_field<S>([&](const auto& f) { export_field(e, f, s.*f.member, labels); });
}

// Field by field, so that each family's samples stay together as the format requires.
template <StatusRecord R>
void export_list(Exposition& e, const std::vector<R>& list) {
    for_each_field<R>([&](const auto& f) {
        for (const R& r : list) export_field(e, f, r.*f.member, list_labels(r));
    });
}

// A value as the text view shows it, by its unit.
template <class T>
std::string text_value(const T& v, Unit unit) {
    if constexpr (std::is_same_v<T, std::string>) {
        return v;
    } else if constexpr (std::is_same_v<T, bool>) {
        return v ? "yes" : "no";
    } else if constexpr (std::is_enum_v<T>) {
        return std::string(to_string(v));
    } else if constexpr (std::is_arithmetic_v<T>) {
        const double x = static_cast<double>(v);
        char buf[40];
        switch (unit) {
            case Unit::ns:
                return format_duration(x);
            case Unit::s:
                return format_duration(x * 1e9);
            case Unit::ppm:
                std::snprintf(buf, sizeof buf, "%+.3f ppm", x);
                return buf;
            case Unit::time_ns:
            case Unit::utc:
                return format_utc(static_cast<int64_t>(v));
            case Unit::none:
                break;
        }
        if constexpr (std::is_integral_v<T>) return std::to_string(v);
        std::snprintf(buf, sizeof buf, "%g", x);
        return buf;
    } else {
        return {};  // records and lists have rows of their own
    }
}

// The text of a field with a text row; nothing while it is absent.
template <class F, class T>
std::optional<std::string> shown(const F& f, const T& v) {
    if constexpr (is_optional_v<T>) {
        if (!v) return std::nullopt;
        return shown(f, *v);
    } else {
        return f.text_format ? f.text_format(v) : text_value(v, f.unit);
    }
}

// A list's record in one row: "state ok, sent 990, dropped 0".
template <StatusRecord R>
std::string list_summary(const R& r) {
    std::string out;
    for_each_field<R>([&](const auto& f) {
        if (!f.text_label) return;
        if (auto text = shown(f, r.*f.member)) {
            // Appended: `"literal" + std::string` draws GCC 12's false -Wrestrict (bug 105651).
            if (!out.empty()) out += ", ";
            out.append(f.text_label).append(" ").append(*text);
        }
    });
    return out;
}

template <StatusRecord R>
std::string list_name(const R& r) {
    std::string out;
    for_each_list_label(r, [&](const char*, const std::string& value) {
        if (!out.empty()) out += ' ';
        out += value;
    });
    return out;
}

// The rows the field table declares, in its order; a list gives a row per record.
template <StatusRecord S, class Row>
void text_rows(const S& s, const Row& row) {
    for_each_field<S>([&](const auto& f) {
        if (!f.text_label) return;
        using T = std::remove_cvref_t<decltype(s.*f.member)>;
        if constexpr (is_vector_v<T>) {
            if constexpr (StatusRecord<typename T::value_type>) {
                for (const auto& r : s.*f.member) {
                    row(std::string(f.text_label) + " " + list_name(r) + ":", list_summary(r));
                }
            }
        } else if (auto text = shown(f, s.*f.member)) {
            row(f.text_label, *text);
        }
    });
}

// Every metric the record's table declares, nested records and lists included.
template <StatusRecord S>
std::string prometheus_metrics(const S& s) {
    Exposition e;
    export_metrics(e, s, "");
    return e.str();
}

}  // namespace vmrefclock::status_views

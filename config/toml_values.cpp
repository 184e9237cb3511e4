#include "config/toml_values.h"

#include <algorithm>
#include <cstdio>

namespace vmrefclock {

std::string printable(std::string_view s, size_t limit) {
    size_t n = std::min(s.size(), limit);
    if (n < s.size()) {
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
    }
    std::string out;
    out.reserve(n + 8);
    for (size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            if (c == '"' || c == '\\') out += '\\';
            out += static_cast<char>(c);
        }
    }
    if (n < s.size()) out += "...";
    return out;
}

namespace {

// Built by appending: GCC 12 at -O2 raises a false -Wrestrict on `"literal" + std::string`
// (GCC bug 105651).
std::string enclosed(char open, std::string_view s, char close) {
    std::string out;
    out.append(1, open).append(printable(s, kMaxQuotedBytes)).append(1, close);
    if (s.size() > kMaxQuotedBytes) {
        out.append(" (").append(std::to_string(s.size())).append(" bytes)");
    }
    return out;
}

}  // namespace

std::string quoted(std::string_view s) {
    return enclosed('"', s, '"');
}

std::string bracketed_excerpt(std::string_view s) {
    return enclosed('[', s, ']');
}

std::string bracketed(std::string_view table) {
    std::string out;
    out.reserve(table.size() + 2);
    out.append(1, '[').append(table).append(1, ']');
    return out;
}

std::string format_number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return buf;
}

std::string type_name(const toml::node& node) {
    return std::string(toml::impl::node_type_friendly_names[static_cast<int>(node.type())]);
}

Error Where::at(const toml::source_region& region, const std::string& what) const {
    return make_error(std::string(origin_) + ":" + std::to_string(region.begin.line) + ": " + what);
}

Error Where::key(const toml::node& node, std::string_view key, const std::string& what) const {
    return at(node.source(), bracketed(table_) + " " + std::string(key) + ": " + what);
}

std::string_view accepted_strings(StringRule rule) {
    switch (rule) {
        case StringRule::kAny:
            return "a string";
        case StringRule::kAbsolutePath:
            return "an absolute path";
        case StringRule::kAbsolutePathOrEmpty:
        case StringRule::kAbsolutePathOrOff:
            return "an absolute path, or \"\"";
        case StringRule::kAbsoluteFilePath:
            return "an absolute path to a file";
        case StringRule::kSocketPath:
            return "an absolute path shorter than 108 bytes";
        case StringRule::kSocketPathOrEmpty:
            return "an absolute path shorter than 108 bytes, or \"\"";
        case StringRule::kProgram:
            return "a program name looked up in PATH, or an absolute path";
    }
    return "a string";
}

MaybeError read_bool(const Where& w, std::string_view key, const toml::node& node, bool& out) {
    const auto* b = node.as_boolean();
    if (!b) return w.key(node, key, "must be true or false, got " + type_name(node));
    out = b->get();
    return std::nullopt;
}

MaybeError read_int(const Where& w, std::string_view key, const toml::node& node, int lo, int hi,
                    std::string_view unit, int& out) {
    const auto* i = node.as_integer();
    if (!i) return w.key(node, key, "must be an integer, got " + type_name(node));
    int64_t v = i->get();
    if (v < lo || v > hi) {
        return w.key(node, key,
                     "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                         std::string(unit) + ", got " + std::to_string(v));
    }
    out = static_cast<int>(v);
    return std::nullopt;
}

MaybeError read_double(const Where& w, std::string_view key, const toml::node& node, double lo,
                       double hi, std::string_view unit, double& out) {
    double v = 0;
    if (const auto* f = node.as_floating_point()) {
        v = f->get();
    } else if (const auto* i = node.as_integer()) {
        v = static_cast<double>(i->get());
    } else {
        return w.key(node, key, "must be a number, got " + type_name(node));
    }
    // Written so that NaN fails too.
    if (!(v >= lo && v <= hi)) {
        return w.key(node, key,
                     "must be between " + format_number(lo) + " and " + format_number(hi) +
                         std::string(unit) + ", got " + format_number(v));
    }
    out = v;
    return std::nullopt;
}

namespace {

// Why `v` breaks `rule`, or "" when it does not.
std::string string_problem(StringRule rule, const std::string& v) {
    const bool empty_ok = rule == StringRule::kAny || rule == StringRule::kAbsolutePathOrEmpty ||
                          rule == StringRule::kAbsolutePathOrOff ||
                          rule == StringRule::kSocketPathOrEmpty;
    if (v.empty()) return empty_ok ? "" : "must not be empty";
    switch (rule) {
        case StringRule::kAny:
            return "";
        case StringRule::kAbsolutePath:
        case StringRule::kAbsolutePathOrEmpty:
        case StringRule::kSocketPath:
        case StringRule::kSocketPathOrEmpty:
            if (v.front() != '/') return "must be an absolute path, got " + quoted(v);
            if (rule == StringRule::kSocketPath || rule == StringRule::kSocketPathOrEmpty) {
                if (v.size() >= kSunPathBytes) {
                    return "must be shorter than " + std::to_string(kSunPathBytes) +
                           " bytes (the size of sun_path), got " + std::to_string(v.size());
                }
            }
            return "";
        case StringRule::kAbsolutePathOrOff:
            return v.front() == '/' ? "" : "must be an absolute path or \"\", got " + quoted(v);
        case StringRule::kAbsoluteFilePath:
            return v.front() == '/' && v.back() != '/'
                       ? ""
                       : "must be an absolute path to a file, got " + quoted(v);
        case StringRule::kProgram:
            return v.find('/') == std::string::npos || v.front() == '/'
                       ? ""
                       : "must be a program name (looked up in PATH) or an absolute path, got " +
                             quoted(v);
    }
    return "";
}

}  // namespace

MaybeError read_string(const Where& w, std::string_view key, const toml::node& node,
                       StringRule rule, std::string& out) {
    const auto* v = node.as_string();
    if (!v) return w.key(node, key, "must be a string, got " + type_name(node));
    // Every string here ends up in a C API (paths, argv, level names), where a NUL would
    // silently cut it short.
    if (v->get().find('\0') != std::string::npos)
        return w.key(node, key, "must not contain a NUL character");
    if (std::string problem = string_problem(rule, v->get()); !problem.empty()) {
        return w.key(node, key, problem);
    }
    out = v->get();
    return std::nullopt;
}

MaybeError read_string_list(const Where& w, std::string_view key, const toml::node& node,
                            std::vector<std::string>& out) {
    const auto* array = node.as_array();
    if (!array) return w.key(node, key, "must be an array of strings, got " + type_name(node));
    std::vector<std::string> values;
    for (const auto& element : *array) {
        std::string v;
        if (auto e = read_string(w, key, element, StringRule::kAny, v)) return e;
        if (v.empty()) return w.key(element, key, "must not be empty");
        values.push_back(std::move(v));
    }
    out = std::move(values);
    return std::nullopt;
}

MaybeError read_choice(const Where& w, std::string_view key, const toml::node& node,
                       const std::vector<std::string_view>& accepted, size_t& index) {
    std::string v;
    if (auto e = read_string(w, key, node, StringRule::kAny, v)) return e;
    for (size_t i = 0; i < accepted.size(); ++i) {
        if (v == accepted[i]) {
            index = i;
            return std::nullopt;
        }
    }
    std::string list;
    for (auto a : accepted) list += (list.empty() ? "" : ", ") + quoted(a);
    return w.key(node, key, "must be one of " + list + "; got " + quoted(v));
}

}  // namespace vmrefclock

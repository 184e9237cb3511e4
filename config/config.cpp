#include "config/config.h"

#include <toml++/toml.h>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

namespace vmrefclock {

namespace {

// sockaddr_un::sun_path is 108 bytes including the terminating NUL.
constexpr size_t kSunPathBytes = 108;

using MaybeError = std::optional<Error>;

// Built by appending: GCC 12 at -O2 raises a false -Wrestrict on `"literal" + std::string`
// (GCC bug 105651).
std::string quoted(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out.append(1, '"').append(s).append(1, '"');
    return out;
}

// "[table]" the same way.
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

// Everything an error needs to point the user at the offending line and key.
class Where {
  public:
    Where(std::string_view origin, std::string_view table) : origin_(origin), table_(table) {}

    Error at(const toml::source_region& region, const std::string& what) const {
        return make_error(std::string(origin_) + ":" + std::to_string(region.begin.line) + ": " +
                          what);
    }
    Error key(const toml::node& node, std::string_view key, const std::string& what) const {
        return at(node.source(), bracketed(table_) + " " + std::string(key) + ": " + what);
    }
    std::string_view table() const { return table_; }

  private:
    std::string_view origin_;
    std::string_view table_;
};

MaybeError read_string(const Where& w, std::string_view key, const toml::node& node,
                       std::string& out) {
    const auto* v = node.as_string();
    if (!v) return w.key(node, key, "must be a string, got " + type_name(node));
    // Every string here ends up in a C API (paths, argv, level names), where a NUL would
    // silently cut it short.
    if (v->get().find('\0') != std::string::npos)
        return w.key(node, key, "must not contain a NUL character");
    out = v->get();
    return std::nullopt;
}

// Integers are welcome where a number of seconds is expected: "interval = 1" is natural.
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

MaybeError read_nonempty(const Where& w, std::string_view key, const toml::node& node,
                         std::string& out) {
    std::string v;
    if (auto e = read_string(w, key, node, v)) return e;
    if (v.empty()) return w.key(node, key, "must not be empty");
    out = v;
    return std::nullopt;
}

MaybeError read_bool(const Where& w, std::string_view key, const toml::node& node, bool& out) {
    const auto* b = node.as_boolean();
    if (!b) return w.key(node, key, "must be true or false, got " + type_name(node));
    out = b->get();
    return std::nullopt;
}

MaybeError read_string_list(const Where& w, std::string_view key, const toml::node& node,
                            std::vector<std::string>& out) {
    const auto* array = node.as_array();
    if (!array) return w.key(node, key, "must be an array of strings, got " + type_name(node));
    std::vector<std::string> values;
    for (const auto& element : *array) {
        std::string v;
        if (auto e = read_nonempty(w, key, element, v)) return e;
        values.push_back(std::move(v));
    }
    out = std::move(values);
    return std::nullopt;
}

MaybeError read_choice(const Where& w, std::string_view key, const toml::node& node,
                       const std::vector<std::string_view>& accepted, std::string& out) {
    std::string v;
    if (auto e = read_string(w, key, node, v)) return e;
    for (auto a : accepted) {
        if (v == a) {
            out = v;
            return std::nullopt;
        }
    }
    std::string list;
    for (auto a : accepted) list += (list.empty() ? "" : ", ") + quoted(a);
    return w.key(node, key, "must be one of " + list + "; got " + quoted(v));
}

// A file system path the daemon opens whatever its working directory: absolute.
MaybeError read_absolute_path(const Where& w, std::string_view key, const toml::node& node,
                              bool empty_ok, std::string& out) {
    std::string v;
    if (auto e = read_string(w, key, node, v)) return e;
    if (v.empty() && !empty_ok) return w.key(node, key, "must not be empty");
    if (!v.empty() && v.front() != '/') {
        return w.key(node, key, "must be an absolute path, got " + quoted(v));
    }
    out = v;
    return std::nullopt;
}

// A program: a name looked up in PATH, or an absolute path.
MaybeError read_program(const Where& w, std::string_view key, const toml::node& node,
                        std::string& out) {
    std::string v;
    if (auto e = read_nonempty(w, key, node, v)) return e;
    if (v.find('/') != std::string::npos && v.front() != '/') {
        return w.key(
            node, key,
            "must be a program name (looked up in PATH) or an absolute path, got " + quoted(v));
    }
    out = v;
    return std::nullopt;
}

MaybeError read_socket_path(const Where& w, std::string_view key, const toml::node& node,
                            bool empty_ok, std::string& out) {
    std::string v;
    if (auto e = read_string(w, key, node, v)) return e;
    if (v.empty()) {
        if (empty_ok) {
            out = v;
            return std::nullopt;
        }
        return w.key(node, key, "must not be empty");
    }
    if (v.front() != '/') return w.key(node, key, "must be an absolute path, got " + quoted(v));
    if (v.size() >= kSunPathBytes) {
        return w.key(node, key,
                     "must be shorter than " + std::to_string(kSunPathBytes) +
                         " bytes (the size of sun_path), got " + std::to_string(v.size()));
    }
    out = v;
    return std::nullopt;
}

struct KeyHandler {
    std::string_view key;
    std::function<MaybeError(const Where&, std::string_view key, const toml::node&)> read;
};

MaybeError read_table(const Where& w, const toml::node& node,
                      const std::vector<KeyHandler>& handlers) {
    const auto* table = node.as_table();
    if (!table) {
        return w.at(node.source(),
                    bracketed(w.table()) + " must be a table, got " + type_name(node));
    }
    for (const auto& [key, value] : *table) {
        const KeyHandler* handler = nullptr;
        for (const auto& h : handlers) {
            if (h.key == key.str()) handler = &h;
        }
        if (!handler) {
            std::string list;
            for (const auto& h : handlers) list += (list.empty() ? "" : ", ") + std::string(h.key);
            return w.at(key.source(), bracketed(w.table()) + " unknown key " + quoted(key.str()) +
                                          " (accepted: " + list + ")");
        }
        if (auto e = handler->read(w, key.str(), value)) return e;
    }
    return std::nullopt;
}

std::vector<KeyHandler> source_keys(SourceConfig& c) {
    return {
        {"type",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_choice(w, k, n, {"auto", "ptp", "vmclock"}, c.type);
         }},
        {"path", [&c](const Where& w, std::string_view k,
                      const toml::node& n) { return read_absolute_path(w, k, n, true, c.path); }},
        {"method",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_choice(w, k, n, {"auto", "precise", "extended", "basic"}, c.method);
         }},
        {"interval",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_double(w, k, n, 0.05, 60, " s", c.interval_s);
         }},
        {"readings",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_int(w, k, n, 1, 100, "", c.readings);
         }},
        {"allow_phc", [&c](const Where& w, std::string_view k,
                           const toml::node& n) { return read_string_list(w, k, n, c.allow_phc); }},
        {"sysfs_root",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_absolute_path(w, k, n, false, c.sysfs_root);
         }},
        {"dev_root",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_absolute_path(w, k, n, false, c.dev_root);
         }},
        {"record",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             std::string v;
             if (auto e = read_string(w, k, n, v)) return e;
             if (!v.empty() && v.front() != '/') {
                 return MaybeError(
                     w.key(n, k, "must be an absolute path or \"\", got " + quoted(v)));
             }
             c.record = v;
             return MaybeError();
         }},
        {"record_max_mb",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_int(w, k, n, 1, 100'000, " MB", c.record_max_mb);
         }},
    };
}

std::vector<KeyHandler> disruption_keys(DisruptionConfig& c) {
    auto flag = [](bool& out) {
        return [&out](const Where& w, std::string_view k, const toml::node& n) {
            return read_bool(w, k, n, out);
        };
    };
    auto number = [](double lo, double hi, std::string_view unit, double& out) {
        return [lo, hi, unit, &out](const Where& w, std::string_view k, const toml::node& n) {
            return read_double(w, k, n, lo, hi, unit, out);
        };
    };
    return {
        {"vmclock",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_absolute_path(w, k, n, true, c.vmclock);
         }},
        {"step", flag(c.step)},
        {"step_floor_us", number(10, 1e6, " us", c.step_floor_us)},
        {"step_sigma", number(3, 100, "", c.step_sigma)},
        {"step_probation", number(0, 86'400, " s", c.step_probation_s)},
        {"suspend", flag(c.suspend)},
        {"suspend_threshold_ms", number(0.1, 60'000, " ms", c.suspend_threshold_ms)},
        {"frequency", flag(c.frequency)},
        {"frequency_bound_ppm", number(1, 10'000, " ppm", c.frequency_bound_ppm)},
    };
}

std::vector<KeyHandler> chrony_keys(ChronyConfig& c) {
    return {
        {"socket",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_socket_path(w, k, n, false, c.socket);
         }},
        {"control_socket",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_socket_path(w, k, n, true, c.control_socket);
         }},
        {"poll",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_int(w, k, n, -4, 8, " (log2 s)", c.poll);
         }},
        {"chronyc", [&c](const Where& w, std::string_view k,
                         const toml::node& n) { return read_program(w, k, n, c.chronyc); }},
    };
}

std::vector<KeyHandler> status_keys(StatusConfig& c) {
    return {
        {"socket", [&c](const Where& w, std::string_view k,
                        const toml::node& n) { return read_socket_path(w, k, n, true, c.socket); }},
        {"group", [&c](const Where& w, std::string_view k,
                       const toml::node& n) { return read_string(w, k, n, c.group); }},
    };
}

std::vector<KeyHandler> log_keys(LogConfig& c) {
    return {
        {"level",
         [&c](const Where& w, std::string_view k, const toml::node& n) {
             return read_choice(
                 w, k, n, {"trace", "debug", "info", "warn", "error", "critical", "off"}, c.level);
         }},
    };
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view origin) {
    toml::table root;
    try {
        root = toml::parse(toml_text, origin);
    } catch (const toml::parse_error& e) {
        const auto& begin = e.source().begin;
        return make_error(std::string(origin) + ":" + std::to_string(begin.line) + ":" +
                          std::to_string(begin.column) + ": " + std::string(e.description()));
    }

    Config config;
    const std::vector<std::pair<std::string_view, std::vector<KeyHandler>>> tables = {
        {"source", source_keys(config.source)},
        {"chrony", chrony_keys(config.chrony)},
        {"disruption", disruption_keys(config.disruption)},
        {"status", status_keys(config.status)},
        {"log", log_keys(config.log)},
    };
    for (const auto& [key, node] : root) {
        const std::vector<KeyHandler>* handlers = nullptr;
        for (const auto& [name, h] : tables) {
            if (name == key.str()) handlers = &h;
        }
        if (!handlers) {
            std::string list;
            for (const auto& [name, h] : tables) {
                list += (list.empty() ? "" : ", ") + bracketed(name);
            }
            const char* what = node.is_table() ? "unknown table [" : "unknown top-level key \"";
            const char* end = node.is_table() ? "]" : "\"";
            return Where(origin, "")
                .at(key.source(),
                    what + std::string(key.str()) + end + " (accepted tables: " + list + ")");
        }
        if (auto e = read_table(Where(origin, key.str()), node, *handlers)) return *e;
    }
    return config;
}

Result<Config> load_config(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        int e = errno;
        return errno_error("cannot read " + path, e);
    }
    std::string text;
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    // fopen succeeds on a directory; the read is what fails (EISDIR).
    int read_errno = std::ferror(f) ? errno : 0;
    std::fclose(f);
    if (read_errno != 0) {
        return make_error("cannot read " + path + ": " + std::strerror(read_errno), read_errno);
    }
    return parse_config(text, path);
}

}  // namespace vmrefclock

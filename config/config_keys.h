// The one table of vmrefclockd.toml's keys. Each entry says where the value lands in
// Config, what it accepts, and what it does; the parser, `--check-config`, the example
// file and the man page's key list all come from it (config_doc.h renders the last two;
// tests/unit/config_doc_test fails when the checked-in copies differ).
//
// Adding a key: a member with its default in config.h, an entry in config_keys.cpp, the
// code that uses it; then `build/bin/vmrefclock-config-doc --write .` rewrites
// config/vmrefclockd.toml and the key list of systemd/man/vmrefclockd.toml.5.scd.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/config.h"
#include "config/toml_values.h"

namespace vmrefclock {

struct ConfigKey {
    std::string_view name;
    std::string accepted;      // the values it takes, as a phrase: "a number from 0.05 to 60 s"
    std::string default_toml;  // Config{}'s value as TOML text: 0.5, "auto", []
    std::string_view doc;      // what it does; *word* is bold in the man page
    // Checks the value and stores it; an error names the key.
    std::function<MaybeError(const Where&, std::string_view key, const toml::node&, Config&)> read;
};

struct ConfigTable {
    std::string_view name;
    std::string_view doc;  // said before its keys; "" = nothing
    std::vector<ConfigKey> keys;
};

// Every table and key, in the order errors list them as accepted.
const std::vector<ConfigTable>& config_schema();

// --- Building entries: each takes the member of one table's struct (SourceConfig::...).

template <class Section>
struct SectionKey {
    std::string_view name;
    std::string accepted;
    std::string default_toml;
    std::string_view doc;
    std::function<MaybeError(const Where&, std::string_view, const toml::node&, Section&)> read;
};

std::string toml_text(const std::string& value);
std::string toml_text(const std::vector<std::string>& values);

template <class Section>
ConfigTable config_table(std::string_view name, Section Config::*section, std::string_view doc,
                         std::initializer_list<SectionKey<Section>> keys) {
    ConfigTable table{name, doc, {}};
    for (const auto& k : keys) {
        auto read = k.read;
        table.keys.push_back(
            {k.name, k.accepted, k.default_toml, k.doc,
             [read, section](const Where& w, std::string_view key, const toml::node& n, Config& c) {
                 return read(w, key, n, c.*section);
             }});
    }
    return table;
}

template <class Section>
SectionKey<Section> flag(std::string_view name, bool Section::*m, std::string_view doc) {
    return {name, "true or false", Section{}.*m ? "true" : "false", doc,
            [m](const Where& w, std::string_view k, const toml::node& n, Section& s) {
                return read_bool(w, k, n, s.*m);
            }};
}

// `unit` follows the range in errors and docs: " s", " (log2 s)", "".
template <class Section>
SectionKey<Section> integer(std::string_view name, int Section::*m, int lo, int hi,
                            std::string_view unit, std::string_view doc) {
    return {
        name,
        "an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + std::string(unit),
        std::to_string(Section{}.*m), doc,
        [=](const Where& w, std::string_view k, const toml::node& n, Section& s) {
            return read_int(w, k, n, lo, hi, unit, s.*m);
        }};
}

template <class Section>
SectionKey<Section> number(std::string_view name, double Section::*m, double lo, double hi,
                           std::string_view unit, std::string_view doc) {
    return {name,
            "a number from " + format_number(lo) + " to " + format_number(hi) + std::string(unit),
            format_number(Section{}.*m), doc,
            [=](const Where& w, std::string_view k, const toml::node& n, Section& s) {
                return read_double(w, k, n, lo, hi, unit, s.*m);
            }};
}

template <class Section>
SectionKey<Section> text(std::string_view name, std::string Section::*m, StringRule rule,
                         std::string_view doc) {
    return {name, std::string(accepted_strings(rule)), toml_text(Section{}.*m), doc,
            [=](const Where& w, std::string_view k, const toml::node& n, Section& s) {
                return read_string(w, k, n, rule, s.*m);
            }};
}

template <class Section>
SectionKey<Section> text_list(std::string_view name, std::vector<std::string> Section::*m,
                              std::string_view doc) {
    return {name, "an array of non-empty strings", toml_text(Section{}.*m), doc,
            [m](const Where& w, std::string_view k, const toml::node& n, Section& s) {
                return read_string_list(w, k, n, s.*m);
            }};
}

std::string accepted_choices(const std::vector<std::string_view>& names);

// A string that must be one of `names`.
template <class Section>
SectionKey<Section> choice(std::string_view name, std::string Section::*m,
                           std::vector<std::string_view> names, std::string_view doc) {
    return {name, accepted_choices(names), toml_text(Section{}.*m), doc,
            [=](const Where& w, std::string_view k, const toml::node& n, Section& s) {
                size_t i = 0;
                if (auto e = read_choice(w, k, n, names, i)) return e;
                s.*m = std::string(names[i]);
                return MaybeError();
            }};
}

// One of `names`, stored as the enum `parse` makes of it (an optional or a Result);
// `name_of` names the default.
template <class Section, class Enum, class Parse, class NameOf>
requires std::is_enum_v<Enum> SectionKey<Section> choice(std::string_view name, Enum Section::*m,
                                                         std::vector<std::string_view> names,
                                                         Parse parse, NameOf name_of,
                                                         std::string_view doc) {
    return {name, accepted_choices(names), toml_text(std::string(name_of(Section{}.*m))), doc,
            [=](const Where& w, std::string_view k, const toml::node& n, Section& s) {
                size_t i = 0;
                if (auto e = read_choice(w, k, n, names, i)) return e;
                const auto v = parse(names[i]);
                if (!v) return MaybeError(w.key(n, k, "has no meaning for " + quoted(names[i])));
                s.*m = *v;
                return MaybeError();
            }};
}

}  // namespace vmrefclock

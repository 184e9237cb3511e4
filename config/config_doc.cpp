#include "config/config_doc.h"

#include <vector>

#include "config/config_keys.h"

namespace vmrefclock {

namespace {

constexpr std::string_view kManBegin =
    "; Generated from config/config_keys.cpp by vmrefclock-config-doc: edit the table there,\n"
    "; then run build/bin/vmrefclock-config-doc --write . in the source tree.\n";
constexpr std::string_view kManEnd = "; End of the generated key list.\n";

constexpr size_t kTomlWidth = 86;  // "# " and the text
constexpr size_t kManWidth = 72;   // after the tab

// The doc's markup is scdoc's (*bold*, a backslash before a literal star); the example
// file shows the plain words.
std::string plain(std::string_view doc) {
    std::string out;
    for (size_t i = 0; i < doc.size(); ++i) {
        if (doc[i] == '\\' && i + 1 < doc.size()) {
            out += doc[++i];
        } else if (doc[i] != '*') {
            out += doc[i];
        }
    }
    return out;
}

// Words filled into lines of at most `width` (a longer word gets a line of its own).
// A line never starts with a word scdoc would read as markup at a line's start (a list
// item's "-" or ".", a table's "[", "|" or "]", a literal block's "`", a comment's ";", a
// heading's "#"): such a word stays on the line before.
std::vector<std::string> fill(std::string_view text, size_t width) {
    std::vector<std::string> lines;
    std::string line;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && text[i] == ' ') ++i;
        size_t end = text.find(' ', i);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view word = text.substr(i, end - i);
        i = end;
        if (word.empty()) continue;
        const bool starts_markup = std::string_view("-.[|]`;#").find(word[0]) != std::string::npos;
        if (!line.empty() && line.size() + 1 + word.size() > width && !starts_markup) {
            lines.push_back(line);
            line.clear();
        }
        if (!line.empty()) line += ' ';
        line += word;
    }
    if (!line.empty()) lines.push_back(line);
    return lines;
}

// Each "\n"-separated part of `text` starts a line of its own (so that the refclock
// line can be copied whole); `hard_break` ends the line before it (scdoc's is " ++").
std::string prefixed(std::string_view text, size_t width, std::string_view prefix,
                     std::string_view hard_break = "") {
    std::string out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        if (start > 0) out.insert(out.size() - 1, hard_break);
        for (const auto& line : fill(text.substr(start, end - start), width)) {
            out.append(prefix).append(line).append("\n");
        }
        start = end + 1;
    }
    return out;
}

std::string sentence(const ConfigKey& key) {
    return std::string(key.doc).append(" Accepted: ").append(key.accepted).append(".");
}

}  // namespace

std::string render_example_toml() {
    std::string out =
        "# vmrefclockd configuration. vmrefclockd.toml(5) describes every key.\n"
        "#\n";
    out += prefixed(
        "Every key is optional; the values below are the defaults. Unknown tables or keys, "
        "values of the wrong type and values out of range stop the daemon at startup with an "
        "error naming the file, line and key; on SIGHUP it keeps the running configuration. "
        "vmrefclockd --check-config -c FILE checks a file the way startup does.",
        kTomlWidth, "# ");
    for (const auto& table : config_schema()) {
        out.append("\n[").append(table.name).append("]\n");
        if (!table.doc.empty()) out += prefixed(plain(table.doc), kTomlWidth, "# ");
        for (const auto& key : table.keys) {
            out.append("\n").append(prefixed(plain(key.doc), kTomlWidth, "# "));
            out += prefixed(std::string("Accepted: ").append(key.accepted).append("."), kTomlWidth,
                            "# ");
            out.append(key.name).append(" = ").append(key.default_toml).append("\n");
        }
    }
    return out;
}

std::string render_man_keys() {
    std::string out(kManBegin);
    for (const auto& table : config_schema()) {
        out.append("# [").append(table.name).append("]\n\n");
        if (!table.doc.empty())
            out.append(prefixed(table.doc, kManWidth + 8, "", " ++")).append("\n");
        for (const auto& key : table.keys) {
            out.append("*").append(key.name).append("* = ").append(key.default_toml).append("\n");
            out.append(prefixed(sentence(key), kManWidth, "\t", " ++")).append("\n");
        }
    }
    return out + std::string(kManEnd);
}

namespace {

// Where the generated text starts and ends in `page`.
std::optional<std::pair<size_t, size_t>> man_keys_span(std::string_view page) {
    const size_t begin = page.find(kManBegin.substr(0, kManBegin.find('\n') + 1));
    if (begin == std::string_view::npos || (begin > 0 && page[begin - 1] != '\n')) {
        return std::nullopt;
    }
    const size_t end = page.find(kManEnd, begin);
    if (end == std::string_view::npos || page[end - 1] != '\n') return std::nullopt;
    return std::make_pair(begin, end + kManEnd.size());
}

}  // namespace

std::optional<std::string> man_keys_of(std::string_view page) {
    const auto span = man_keys_span(page);
    if (!span) return std::nullopt;
    return std::string(page.substr(span->first, span->second - span->first));
}

std::optional<std::string> splice_man_keys(std::string_view page, std::string_view keys) {
    const auto span = man_keys_span(page);
    if (!span) return std::nullopt;
    std::string out(page.substr(0, span->first));
    out.append(keys).append(page.substr(span->second));
    return out;
}

}  // namespace vmrefclock

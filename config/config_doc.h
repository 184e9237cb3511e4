// The documentation config_schema() drives: the example configuration
// (config/vmrefclockd.toml) and the key list of vmrefclockd.toml(5), between two marker
// comments in systemd/man/vmrefclockd.toml.5.scd. vmrefclock-config-doc writes both;
// tests/unit/config_doc_test fails when the checked-in copies differ.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vmrefclock {

inline constexpr std::string_view kExampleConfigPath = "config/vmrefclockd.toml";
inline constexpr std::string_view kConfigManPagePath = "systemd/man/vmrefclockd.toml.5.scd";

// The whole example file: every table and key, each key set to its default.
std::string render_example_toml();

// The man page's key list, its two marker lines included.
std::string render_man_keys();

// `page` with the text between (and including) its marker lines replaced by `keys`;
// nullopt when the markers are missing.
std::optional<std::string> splice_man_keys(std::string_view page, std::string_view keys);

// The key list `page` holds now, markers included; nullopt when the markers are missing.
std::optional<std::string> man_keys_of(std::string_view page);

}  // namespace vmrefclock

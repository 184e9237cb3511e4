// Reading one TOML value into a C++ one, with an error that names the file, line, table
// and key, and quotes at most a bounded excerpt of what the file holds.
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filter/result.h"

namespace vmrefclock {

using MaybeError = std::optional<Error>;

// Errors quote at most this much of the offending text (a key, a value, toml++'s own
// description): a 1 MB key must not become a 1 MB log line.
inline constexpr size_t kMaxQuotedBytes = 80;
inline constexpr size_t kMaxDescriptionBytes = 200;
// sockaddr_un::sun_path is 108 bytes including the terminating NUL.
inline constexpr size_t kSunPathBytes = 108;

// At most `limit` bytes of `s` (cut at a UTF-8 character boundary), control characters,
// quotes and backslashes escaped.
std::string printable(std::string_view s, size_t limit);
// "s" cut to kMaxQuotedBytes, with the full size when cut.
std::string quoted(std::string_view s);
// [s] the same way.
std::string bracketed_excerpt(std::string_view s);
// "[table]".
std::string bracketed(std::string_view table);
std::string format_number(double v);
std::string type_name(const toml::node& node);

// Everything an error needs to point the user at the offending line and key.
class Where {
  public:
    Where(std::string_view origin, std::string_view table) : origin_(origin), table_(table) {}

    Error at(const toml::source_region& region, const std::string& what) const;
    Error key(const toml::node& node, std::string_view key, const std::string& what) const;
    std::string_view table() const { return table_; }

  private:
    std::string_view origin_;
    std::string_view table_;
};

// What a string key accepts beyond "a string without NUL".
enum class StringRule {
    kAny,
    kAbsolutePath,         // non-empty
    kAbsolutePathOrEmpty,  // "" = the default one, or none
    kAbsolutePathOrOff,    // "" = the feature is off
    kAbsoluteFilePath,     // not ending in '/'
    kSocketPath,           // absolute, fits sun_path
    kSocketPathOrEmpty,
    kProgram,  // a name looked up in PATH, or an absolute path
};

// The phrase the documentation uses for the values a rule accepts.
std::string_view accepted_strings(StringRule rule);

MaybeError read_bool(const Where& w, std::string_view key, const toml::node& node, bool& out);
MaybeError read_int(const Where& w, std::string_view key, const toml::node& node, int lo, int hi,
                    std::string_view unit, int& out);
// Integers are welcome where a number is expected: "interval = 1" is natural.
MaybeError read_double(const Where& w, std::string_view key, const toml::node& node, double lo,
                       double hi, std::string_view unit, double& out);
MaybeError read_string(const Where& w, std::string_view key, const toml::node& node,
                       StringRule rule, std::string& out);
MaybeError read_string_list(const Where& w, std::string_view key, const toml::node& node,
                            std::vector<std::string>& out);
// `index` = the position of the value in `accepted`.
MaybeError read_choice(const Where& w, std::string_view key, const toml::node& node,
                       const std::vector<std::string_view>& accepted, size_t& index);

}  // namespace vmrefclock

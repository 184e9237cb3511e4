// Text that goes into logs, the status socket and error messages: valid UTF-8, one line,
// bounded in length. Pure functions over bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vmrefclock {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past
// U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `text` made safe for one log line or status field: ill-formed UTF-8 bytes become U+FFFD,
// control characters (C0, DEL) become spaces, and the result is at most `max_bytes`
// long, cut on a character boundary, ending in "..." when something was cut.
std::string printable_text(std::string_view text, size_t max_bytes);

// The first `max_bytes` of `text` or less, never ending inside a multi-byte character
// (`text` itself must be valid UTF-8 for the result to be).
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

}  // namespace vmrefclock

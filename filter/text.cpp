#include "filter/text.h"

#include <algorithm>
#include <cstdint>

namespace vmrefclock {

namespace {

// Length of the well-formed UTF-8 sequence at text[i], or 0 when it is ill-formed
// (RFC 3629 table, as the Unicode standard's Table 3-7 states it).
size_t sequence_length(std::string_view text, size_t i) {
    const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    const uint8_t b0 = byte(i);
    if (b0 < 0x80) return 1;
    size_t n = 0;
    uint8_t lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0) lo = 0xA0;  // no overlongs
        if (b0 == 0xED) hi = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0) lo = 0x90;  // no overlongs
        if (b0 == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
    } else {
        return 0;
    }
    if (i + n > text.size()) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    }
    return n;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        const size_t n = sequence_length(text, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string_view utf8_prefix(std::string_view text, size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    size_t end = max_bytes;
    // Back up over continuation bytes to the start of the character that was cut.
    while (end > 0 && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80) --end;
    return text.substr(0, end);
}

namespace {

std::string sanitized(std::string_view text) {
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const size_t n = sequence_length(text, i);
        if (n == 0) {
            out += kReplacement;
            i += 1;
            continue;
        }
        const auto b0 = static_cast<uint8_t>(text[i]);
        if (n == 1 && (b0 < 0x20 || b0 == 0x7F)) {
            out += ' ';
        } else {
            out.append(text.substr(i, n));
        }
        i += n;
    }
    return out;
}

}  // namespace

std::string printable_text(std::string_view text, size_t max_bytes) {
    static constexpr std::string_view kEllipsis = "...";
    // Sanitizing never shortens text, so a longer input is cut whatever it holds: only
    // its first max_bytes matter.
    if (text.size() <= max_bytes) {
        std::string out = sanitized(text);
        if (out.size() <= max_bytes) return out;
    }
    const std::string out = sanitized(text.substr(0, std::min(text.size(), max_bytes)));
    if (max_bytes < kEllipsis.size()) return std::string(utf8_prefix(out, max_bytes));
    return std::string(utf8_prefix(out, max_bytes - kEllipsis.size())) + std::string(kEllipsis);
}

}  // namespace vmrefclock

// Text for logs and reasons: valid UTF-8, one line, bounded, cut on character boundaries.
#include <gtest/gtest.h>

#include "filter/text.h"

namespace vmrefclock {
namespace {

TEST(Text, Utf8Validation) {
    EXPECT_TRUE(is_valid_utf8("plain ascii"));
    EXPECT_TRUE(is_valid_utf8("é € 𝄞"));
    EXPECT_FALSE(is_valid_utf8("\xC3"));              // cut
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(Text, PrefixNeverEndsInsideACharacter) {
    const std::string s = "aé€𝄞";  // 1 + 2 + 3 + 4 bytes
    for (size_t n = 0; n <= s.size(); ++n) {
        const std::string_view p = utf8_prefix(s, n);
        EXPECT_LE(p.size(), n);
        EXPECT_TRUE(is_valid_utf8(p)) << n;
    }
    EXPECT_EQ(utf8_prefix(s, 2), "a");
    EXPECT_EQ(utf8_prefix(s, 3), "aé");
}

TEST(Text, PrintableTextIsOneBoundedValidLine) {
    EXPECT_EQ(printable_text("fits", 4), "fits");
    EXPECT_EQ(printable_text("abcde", 5), "abcde");
    EXPECT_EQ(printable_text("abcdef", 5), "ab...");
    EXPECT_EQ(printable_text("a\nb\tc\x7f", 10), "a b c ");
    EXPECT_EQ(printable_text("x\xC3y", 10), "x\xEF\xBF\xBDy");
    std::string long_text;
    for (int i = 0; i < 1000; ++i) long_text += "é";
    for (size_t max : {0, 1, 2, 3, 4, 5, 6, 7, 100, 101}) {
        const std::string out = printable_text(long_text, max);
        EXPECT_LE(out.size(), max) << max;
        EXPECT_TRUE(is_valid_utf8(out)) << max;
    }
    EXPECT_EQ(printable_text(long_text, 8), "éé...");
    // A megabyte in, a bounded line out, quickly.
    const std::string huge(1 << 20, 'k');
    EXPECT_EQ(printable_text(huge, 20).size(), 20u);
}

}  // namespace
}  // namespace vmrefclock

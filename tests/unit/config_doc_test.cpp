// The key table drives the parser and the documents: the checked-in example file and the
// man page's key list are what the table renders, every key's documented default is one
// the parser accepts, and every key refuses a wrong type by name.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_doc.h"
#include "config/config_keys.h"

// GCC 12 at -O2 raises false -Wrestrict errors on `"literal" + std::string` (GCC bug
// 105651), which the tests below build texts with.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace vmrefclock {
namespace {

std::filesystem::path source_dir() {
    if (const char* dir = std::getenv("VMR_SOURCE_DIR"); dir && *dir) return dir;
    return VMR_DEFAULT_SOURCE_DIR;
}

std::string read_source_file(std::string_view relative) {
    std::ifstream in(source_dir() / relative, std::ios::binary);
    EXPECT_TRUE(in) << relative;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// "" when equal; else the first line that differs, both ways, and how to fix it.
std::string first_difference(std::string_view what, const std::string& checked_in,
                             const std::string& rendered) {
    if (checked_in == rendered) return "";
    std::istringstream a(checked_in), b(rendered);
    std::string la, lb;
    int line = 0;
    while (true) {
        ++line;
        const bool more_a = static_cast<bool>(std::getline(a, la));
        const bool more_b = static_cast<bool>(std::getline(b, lb));
        if (!more_a && !more_b) break;
        if (!more_a || !more_b || la != lb) {
            return "line " + std::to_string(line) + " of " + std::string(what) +
                   ":\n  checked in: " + (more_a ? la : "(end)") +
                   "\n  the table:  " + (more_b ? lb : "(end)") +
                   "\nEdit config/config_keys.cpp, not the generated text, then run "
                   "build/bin/vmrefclock-config-doc --write <source dir>.";
        }
    }
    return "the files differ in line endings";
}

TEST(ConfigDoc, ExampleFileIsWhatTheTableSays) {
    EXPECT_EQ(first_difference(kExampleConfigPath, read_source_file(kExampleConfigPath),
                               render_example_toml()),
              "");
}

TEST(ConfigDoc, ManPageKeyListIsWhatTheTableSays) {
    const auto keys = man_keys_of(read_source_file(kConfigManPagePath));
    ASSERT_TRUE(keys) << kConfigManPagePath << " has lost its generated key list markers";
    EXPECT_EQ(first_difference("the man page's key list", *keys, render_man_keys()), "");
}

TEST(ConfigDoc, EveryDocumentedDefaultIsAccepted) {
    for (const auto& table : config_schema()) {
        for (const auto& key : table.keys) {
            const std::string text = "[" + std::string(table.name) + "]\n" + std::string(key.name) +
                                     " = " + key.default_toml + "\n";
            auto r = parse_config(text, "t.toml");
            EXPECT_TRUE(r.ok()) << text << (r.ok() ? "" : r.error().message);
        }
    }
}

TEST(ConfigDoc, EveryKeyRefusesAWrongTypeByName) {
    for (const auto& table : config_schema()) {
        for (const auto& key : table.keys) {
            const std::string name = "[" + std::string(table.name) + "] " + std::string(key.name);
            auto r = parse_config(
                "[" + std::string(table.name) + "]\n" + std::string(key.name) + " = {}\n",
                "t.toml");
            ASSERT_FALSE(r.ok()) << name;
            EXPECT_EQ(r.error().message.rfind("t.toml:2: " + name + ": must be ", 0), 0u)
                << r.error().message;
        }
    }
}

TEST(ConfigDoc, EveryKeyIsDocumented) {
    for (const auto& table : config_schema()) {
        for (const auto& key : table.keys) {
            EXPECT_GT(key.doc.size(), 20u) << table.name << "." << key.name;
            EXPECT_FALSE(key.accepted.empty()) << table.name << "." << key.name;
            EXPECT_FALSE(key.default_toml.empty()) << table.name << "." << key.name;
        }
    }
}

TEST(ConfigDoc, SpliceReplacesOnlyTheKeyList) {
    const std::string page = "head\n" + render_man_keys() + "tail\n";
    EXPECT_EQ(splice_man_keys(page, render_man_keys()), page);
    EXPECT_FALSE(splice_man_keys("no markers\n", render_man_keys()));
}

// A choice key may land in an enum through a parse function (as [source] type does once
// it is a SourceKind): the accepted names, the default and the errors come from the entry.
enum class Colour { kRed, kGreen };
std::optional<Colour> parse_colour(std::string_view name) {
    if (name == "red") return Colour::kRed;
    if (name == "green") return Colour::kGreen;
    return std::nullopt;
}
std::string_view colour_name(Colour c) {
    return c == Colour::kRed ? "red" : "green";
}
struct Paint {
    Colour colour = Colour::kGreen;
};

TEST(ConfigDoc, ChoiceKeyCanParseIntoAnEnum) {
    const auto key = choice("colour", &Paint::colour, {"red", "green"}, parse_colour, colour_name,
                            "The colour of the paint.");
    EXPECT_EQ(key.default_toml, "\"green\"");
    EXPECT_EQ(key.accepted, "one of \"red\" or \"green\"");
    const Where where("t.toml", "paint");
    Paint paint;
    const toml::table red = toml::parse("colour = \"red\"\n");
    EXPECT_FALSE(key.read(where, "colour", *red.get("colour"), paint));
    EXPECT_EQ(paint.colour, Colour::kRed);
    const toml::table blue = toml::parse("colour = \"blue\"\n");
    const auto error = key.read(where, "colour", *blue.get("colour"), paint);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->message,
              "t.toml:1: [paint] colour: must be one of \"red\", \"green\"; got \"blue\"");
    EXPECT_EQ(paint.colour, Colour::kRed);
}

}  // namespace
}  // namespace vmrefclock

// The [clockbound] table and [disruption] notify_fifo.
#include <gtest/gtest.h>

#include "config/config.h"

namespace vmrefclock {
namespace {

TEST(ConfigClockBound, OffByDefaultAtClockBoundsPath) {
    auto c = parse_config("", "t.toml");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->clockbound.enabled);
    EXPECT_EQ(c->clockbound.path, "/var/run/clockbound/shm0");
    EXPECT_EQ(c->disruption.notify_fifo, "");
}

TEST(ConfigClockBound, KeysAreRead) {
    auto c = parse_config(
        "[clockbound]\nenabled = true\npath = \"/run/x/shm0\"\n[disruption]\nnotify_fifo = "
        "\"/tmp/n\"\n",
        "t.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_TRUE(c->clockbound.enabled);
    EXPECT_EQ(c->clockbound.path, "/run/x/shm0");
    EXPECT_EQ(c->disruption.notify_fifo, "/tmp/n");
}

TEST(ConfigClockBound, BadValuesNameTheKey) {
    const std::pair<const char*, const char*> cases[] = {
        {"[clockbound]\nenabled = 1\n", "t.toml:2: [clockbound] enabled: must be true or false"},
        {"[clockbound]\npath = \"\"\n", "[clockbound] path: must not be empty"},
        {"[clockbound]\npath = \"shm0\"\n", "[clockbound] path: must be an absolute path"},
        {"[clockbound]\npath = \"/run/clockbound/\"\n", "must be an absolute path to a file"},
        {"[clockbound]\nsize = 80\n",
         "[clockbound] unknown key \"size\" (accepted: enabled, path)"},
    };
    for (const auto& [text, expected] : cases) {
        auto c = parse_config(text, "t.toml");
        ASSERT_FALSE(c) << text;
        EXPECT_NE(c.error().message.find(expected), std::string::npos)
            << text << " -> " << c.error().message;
    }
}

}  // namespace
}  // namespace vmrefclock

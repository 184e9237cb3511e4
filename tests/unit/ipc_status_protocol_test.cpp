// The status protocol's request side on its own: any byte sequence gets a protocol
// error (never "internal error"), and what reaches logs and reasons is valid UTF-8.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "filter/text.h"
#include "ipc/status/status_protocol.h"

namespace vmrefclock {
namespace {

using nlohmann::json;

class StatusProtocol : public ::testing::Test {
  protected:
    void SetUp() override {
        callbacks_.snapshot = [] {
            StatusSnapshot s;
            s.state = DaemonState::ok;
            s.reason = "fine \xC3";  // a daemon string that is not valid UTF-8
            return s;
        };
        callbacks_.samples = [](size_t n) { return std::vector<SampleRecord>(n); };
        callbacks_.reset = [this](const std::string& reason) -> Status {
            reasons_.push_back(reason);
            return Ok{};
        };
        callbacks_.sources = [] { return std::string("none"); };
    }

    json answer(std::string_view line, bool may_reset = true) {
        const std::string out = answer_status_request(line, callbacks_, {0, may_reset}, 1000);
        EXPECT_TRUE(is_valid_utf8(out)) << out;
        return json::parse(out);  // throws (fails the test) if it is not JSON
    }

    StatusCallbacks callbacks_;
    std::vector<std::string> reasons_;
};

TEST_F(StatusProtocol, RandomBytesGetProtocolErrors) {
    std::mt19937 rng(13);
    const std::vector<std::string> seeds = {R"({"cmd":"status"})",
                                            R"({"cmd":"reset","reason":"é"})",
                                            R"({"cmd":"samples","n":3})",
                                            R"({"cmd":"sources"})",
                                            "[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]",
                                            R"({"cmd":"samples","n":18446744073709551615})",
                                            R"({"cmd":"x\u0000y"})"};
    int errors = 0, oks = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string line = seeds[rng() % seeds.size()];
        // Mutate: flip, insert, delete and truncate bytes, often inside multi-byte text.
        const int edits = static_cast<int>(rng() % 4);
        for (int e = 0; e < edits && !line.empty(); ++e) {
            const size_t at = rng() % line.size();
            switch (rng() % 4) {
                case 0:
                    line[at] = static_cast<char>(rng() % 256);
                    break;
                case 1:
                    line.insert(at, 1, static_cast<char>(0x80 + rng() % 0x80));
                    break;
                case 2:
                    line.erase(at, 1);
                    break;
                default:
                    line.resize(at);
                    break;
            }
        }
        const json r = answer(line);
        ASSERT_TRUE(r.is_object()) << line;
        if (r["ok"] == true) {
            ++oks;
            continue;
        }
        ++errors;
        const std::string error = r["error"].get<std::string>();
        EXPECT_EQ(error.find("internal error"), std::string::npos) << line << " -> " << error;
    }
    EXPECT_GT(errors, 1000);
    EXPECT_GT(oks, 100);
    for (const auto& reason : reasons_) EXPECT_TRUE(is_valid_utf8(reason)) << reason;
}

// A request cut inside a multi-byte character is malformed JSON, said as such.
TEST_F(StatusProtocol, RequestCutInsideACharacter) {
    const std::string full = R"({"cmd":"reset","reason":"é"})";
    const std::string cut = full.substr(0, full.find("\xC3") + 1) + "\"}";
    const json r = answer(cut);
    EXPECT_EQ(r["ok"], false);
    EXPECT_EQ(r["error"], "malformed JSON (not valid UTF-8)");
    EXPECT_TRUE(reasons_.empty());
}

// A long reason made of two-byte characters is cut on a character boundary, and control
// characters cannot start a new log line.
TEST_F(StatusProtocol, LongReasonIsCutOnACharacterBoundary) {
    std::string reason;
    for (int i = 0; i < 150; ++i) reason += "é";  // 300 bytes
    reason += "\nforged log line";
    EXPECT_EQ(answer(json{{"cmd", "reset"}, {"reason", reason}}.dump())["ok"], true);
    ASSERT_EQ(reasons_.size(), 1u);
    EXPECT_TRUE(is_valid_utf8(reasons_[0]));
    EXPECT_LE(reasons_[0].size(), kMaxResetReasonBytes);
    EXPECT_EQ(reasons_[0].find('\n'), std::string::npos);
    EXPECT_EQ(reasons_[0].substr(reasons_[0].size() - 3), "...");
    std::printf("reason of %zu bytes kept as %zu bytes\n", reason.size(), reasons_[0].size());
}

TEST_F(StatusProtocol, UnknownCommandIsEchoedSafely) {
    std::string cmd;
    for (int i = 0; i < 40; ++i) cmd += "é";
    const json r = answer(json{{"cmd", cmd}}.dump());
    EXPECT_EQ(r["ok"], false);
    const std::string error = r["error"];
    EXPECT_EQ(error.rfind("unknown cmd \"", 0), 0u) << error;
    EXPECT_TRUE(is_valid_utf8(error));
    EXPECT_LT(error.size(), 100u);
}

TEST_F(StatusProtocol, DaemonStringsThatAreNotUtf8AreReplaced) {
    const json r = answer(R"({"cmd":"status"})");
    EXPECT_EQ(r["status"]["reason"], "fine \xEF\xBF\xBD");
}

TEST_F(StatusProtocol, TypesAreChecked) {
    EXPECT_EQ(answer(R"({"cmd":"samples","n":18446744073709551615})")["error"],
              "\"n\" must be an integer from 0 to 1000");
    EXPECT_EQ(answer(R"({"cmd":"samples","n":-1})")["ok"], false);
    EXPECT_EQ(answer(R"({"cmd":"samples","n":2.0})")["ok"], false);
    EXPECT_EQ(answer(R"({"cmd":"samples","n":2})")["samples"].size(), 2u);
    EXPECT_EQ(answer(R"({"cmd":"reset"})", false)["error"], "permission denied");
}

}  // namespace
}  // namespace vmrefclock

// A newer vmrefclockctl reads an older vmrefclockd's status and the other way round:
// the status with fields removed (ipc_status_golden/older-daemon.json is what the
// daemon sent before the field tables) or unknown fields added still parses; a value
// of the wrong type is an error that names the field.
// And the field tables carry a list of records, as the per-sink status will be.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "ipc/status/status.h"
#include "ipc/status/status_views.h"

namespace vmrefclock {

// A list record shaped like the per-sink status, declared the way a real one is.
struct ExampleSinkStatus {
    std::string name;
    std::string state;
    bool connected = false;
    std::optional<std::string> last_error;
    uint64_t sent = 0;
    std::optional<uint64_t> dropped;
};
constexpr auto fields_of(std::type_identity<ExampleSinkStatus>) {
    using S = ExampleSinkStatus;
    return std::tuple{
        field("name", &S::name, Unit::none, "The sink.").labels_list_metrics("sink"),
        field("state", &S::state, Unit::none, "What it is doing.").text("state"),
        field("connected", &S::connected, Unit::none, "1 when the sink is connected.")
            .gauge("sink_connected")
            .text("connected"),
        field("last_error", &S::last_error, Unit::none, "Its last error.").text("last error"),
        field("sent", &S::sent, Unit::none, "Samples the sink sent.")
            .counter("sink_sent_total")
            .text("sent"),
        field("dropped", &S::dropped, Unit::none, "Samples the sink dropped.")
            .counter("sink_dropped_total")
            .text("dropped"),
    };
}
struct ExampleWithSinks {
    uint64_t polls = 0;
    std::vector<ExampleSinkStatus> sinks;
};
constexpr auto fields_of(std::type_identity<ExampleWithSinks>) {
    using S = ExampleWithSinks;
    return std::tuple{
        field("polls", &S::polls, Unit::none, "Polls of the source.").counter("polls_total"),
        field("sinks", &S::sinks, Unit::none, "Each sink.").text("sink"),
    };
}

namespace {

using nlohmann::json;

json status_file(const std::string& name) {
    std::ifstream in(std::string(VMR_DEFAULT_SOURCE_DIR) + "/tests/unit/ipc_status_golden/" + name);
    return json::parse(in);
}

// Every field the daemon sends now.
json todays_status() {
    return status_file("full.json");
}

// Every leaf key of the status, as a JSON pointer and as the path an error names.
void each_leaf(const json& j, const std::string& pointer, const std::string& path,
               const std::function<void(const std::string&, const std::string&)>& fn) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string p = pointer + "/" + it.key();
        const std::string name = path.empty() ? it.key() : path + "." + it.key();
        fn(p, name);
        if (it->is_object()) each_leaf(*it, p, name, fn);
    }
}

std::string error_of(const json& j) {
    try {
        (void)j.get<StatusSnapshot>();
    } catch (const json::exception& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(StatusTolerant, FieldsMissingFromAnOlderDaemonParseAndAreNamed) {
    json older = status_file("older-daemon.json");
    older.erase("offset_ns");
    older.erase("chrony");
    older.erase("polls");
    older["host"].erase("vm_generation");
    older["disruptions"].erase("last_cause");
    const StatusSnapshot s = older.get<StatusSnapshot>();
    EXPECT_FALSE(s.offset_ns);
    EXPECT_EQ(s.polls, 0u);
    EXPECT_EQ(s.chrony.socket, "");
    ASSERT_TRUE(s.host);
    EXPECT_FALSE(s.host->vm_generation);
    EXPECT_EQ(s.host->clock_status, "synchronized");
    EXPECT_FALSE(s.disruptions.last_cause);
    EXPECT_EQ(s.disruptions.count, 2u);
    EXPECT_EQ(s.samples_sent, 990u);
    const std::vector<std::string> removed = {"offset_ns", "polls", "disruptions.last_cause",
                                              "host.vm_generation", "chrony"};
    for (const std::string& path : removed) {
        EXPECT_NE(std::find(s.not_reported.begin(), s.not_reported.end(), path),
                  s.not_reported.end())
            << path;
    }
    // Anything else listed is a field added since the file was written.
    for (std::string path : s.not_reported) {
        if (std::find(removed.begin(), removed.end(), path) != removed.end()) continue;
        std::replace(path.begin(), path.end(), '.', '/');
        EXPECT_FALSE(status_file("older-daemon.json").contains(json::json_pointer("/" + path)))
            << path;
    }
    const std::string text = render_text(s);
    EXPECT_NE(text.find("offset:       no estimate yet\n"), std::string::npos) << text;
    EXPECT_NE(text.find("not reported: "), std::string::npos) << text;
    EXPECT_NE(text.find("host.vm_generation"), std::string::npos) << text;
    EXPECT_NE(text.find(" (an older vmrefclockd?)\n"), std::string::npos) << text;
}

// The fields added since older-daemon.json, the declared-once way (status.h, where the
// daemon fills them): absent there, so shown as absent, not as 0.
TEST(StatusTolerant, AFieldAddedSinceIsNotReportedByAnOlderDaemon) {
    const StatusSnapshot s = status_file("older-daemon.json").get<StatusSnapshot>();
    EXPECT_FALSE(s.cpu_seconds);
    EXPECT_TRUE(s.sinks.empty());
    EXPECT_EQ(s.not_reported, (std::vector<std::string>{"sinks", "cpu_seconds"}));
    const std::string text = render_text(s);
    EXPECT_EQ(text.find("cpu:"), std::string::npos) << text;
    EXPECT_NE(text.find("not reported: sinks, cpu_seconds (an older vmrefclockd?)\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(render_prometheus(s).find("cpu_seconds"), std::string::npos);

    StatusSnapshot now = s;
    now.cpu_seconds = 1.5;
    EXPECT_NE(render_text(now).find("cpu:          1.500 s\n"), std::string::npos);
    EXPECT_NE(render_prometheus(now).find("\nvmrefclock_cpu_seconds_total 1.5\n"),
              std::string::npos);
}

TEST(StatusTolerant, EachFieldCanBeMissing) {
    const json today = todays_status();
    int leaves = 0;
    each_leaf(today, "", "", [&](const std::string& pointer, const std::string& path) {
        json older = today;
        const json::json_pointer where(pointer);
        older[where.parent_pointer()].erase(where.back());
        StatusSnapshot s;
        ASSERT_NO_THROW(s = older.get<StatusSnapshot>()) << path;
        EXPECT_EQ(s.not_reported, std::vector<std::string>{path});
        EXPECT_FALSE(render_text(s).empty());
        EXPECT_FALSE(render_prometheus(s).empty());
        ++leaves;
    });
    EXPECT_GE(leaves, 18 + 3 + 3 + 6 + 3);
    EXPECT_TRUE(todays_status().get<StatusSnapshot>().not_reported.empty());
}

TEST(StatusTolerant, UnknownFieldsFromANewerDaemonAreIgnored) {
    const json today = todays_status();
    json newer = today;
    newer["cpu_load_next_year"] = {{"a", 1}};
    newer["host"]["tsc_khz"] = 2'400'000;
    newer["chrony"]["sources"] = json::array({"x", "y"});
    const StatusSnapshot s = newer.get<StatusSnapshot>();
    EXPECT_EQ(json(s), today);
    EXPECT_TRUE(s.not_reported.empty());
}

TEST(StatusTolerant, EachWrongTypeNamesItsField) {
    const json today = todays_status();
    each_leaf(today, "", "", [&](const std::string& pointer, const std::string& path) {
        json bad = today;
        // A list of one number is a list still (its element is what is wrong): a list
        // gets a number instead.
        const bool list = today[json::json_pointer(pointer)].is_array();
        bad[json::json_pointer(pointer)] = list ? json(1) : json::array({1});
        EXPECT_NE(error_of(bad).find("field \"" + path + "\" must be "), std::string::npos)
            << error_of(bad);
    });
}

TEST(StatusTolerant, WrongTypesAndRangesAreErrors) {
    auto with = [](const std::string& pointer, json value) {
        json j = todays_status();
        j[json::json_pointer(pointer)] = std::move(value);
        return error_of(j);
    };
    EXPECT_EQ(with("/polls", "many"),
              "field \"polls\" must be a non-negative integer, not \"many\"");
    EXPECT_EQ(with("/polls", -1), "field \"polls\" must be a non-negative integer, not -1");
    EXPECT_EQ(with("/polls", 1.5), "field \"polls\" must be a non-negative integer, not 1.5");
    EXPECT_EQ(with("/samples_in_window", 1ull << 40),
              "field \"samples_in_window\" must be an integer, not 1099511627776");
    EXPECT_EQ(with("/chrony/connected", "yes"),
              "field \"chrony.connected\" must be true or false, not \"yes\"");
    EXPECT_EQ(with("/offset_ns", "1 µs"), "field \"offset_ns\" must be a number, not \"1 µs\"");
    EXPECT_EQ(with("/disruptions/last_time", "yesterday"),
              "field \"disruptions.last_time\" must be an RFC 3339 UTC time like "
              "2026-01-05T12:34:56.789Z, not \"yesterday\"");
    for (const char* time : {"2026-13-01T00:00:00.000Z", "2026-01-32T00:00:00.000Z",
                             "2026-01-05T12:14:56.-01Z", "2026-01-05T12:14:56.789"}) {
        EXPECT_NE(with("/disruptions/last_time", time).find("must be an RFC 3339 UTC time"),
                  std::string::npos)
            << time;
    }
    EXPECT_EQ(with("/state", "great"), "field \"state\" has an unknown value \"great\"");
    EXPECT_EQ(with("/host", 3), "field \"host\" must be an object, not 3");
    EXPECT_EQ(error_of(json::array()), "the status must be an object, not []");
    // A long value is cut in the message.
    EXPECT_EQ(
        with("/polls", std::string(100, 'x')),
        "field \"polls\" must be a non-negative integer, not \"" + std::string(36, 'x') + "...");
}

TEST(StatusTolerant, TimesBeyondInt64NanosecondsSaturate) {
    EXPECT_EQ(parse_utc("9999-12-31T23:59:59.999Z"), std::numeric_limits<int64_t>::max());
    const int64_t earliest = std::numeric_limits<int64_t>::min();
    EXPECT_EQ(parse_utc(format_utc(earliest)), earliest);  // "1677-09-21T00:12:43.145Z"
    EXPECT_EQ(parse_utc("2262-04-11T23:47:16.854Z"), 9'223'372'036'854'000'000);
}

TEST(StatusTolerant, NullIsAbsent) {
    json j = todays_status();
    j["host"] = nullptr;   // optional: absent, as the daemon says it
    j["polls"] = nullptr;  // not optional: as if not sent
    const StatusSnapshot s = j.get<StatusSnapshot>();
    EXPECT_FALSE(s.host);
    EXPECT_EQ(s.polls, 0u);
    EXPECT_EQ(s.not_reported, std::vector<std::string>{"polls"});
}

TEST(StatusTolerant, AFailedDecodeLeavesTheTargetAlone) {
    StatusSnapshot s = todays_status().get<StatusSnapshot>();
    json bad = todays_status();
    bad["version"] = 2;
    bad["polls"] = 5;
    EXPECT_THROW(bad.get_to(s), json::exception);
    EXPECT_EQ(s.polls, 1000u);
}

TEST(StatusTolerant, SamplesToo) {
    json samples = json::array({{{"time_ns", 1}, {"offset_ns", -2.5}, {"sent", true}}});
    const auto records = samples.get<std::vector<SampleRecord>>();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].offset_ns, -2.5);
    EXPECT_EQ(records[0].delay_ns, 0);
    samples[0]["delay_ns"] = "slow";
    EXPECT_THROW(samples.get<std::vector<SampleRecord>>(), json::exception);
}

ExampleWithSinks two_sinks() {
    ExampleWithSinks s;
    s.polls = 7;
    s.sinks = {{"chrony", "ok", true, std::nullopt, 990, 3},
               {"clockbound", "failed", false, std::string("EACCES"), 0, std::nullopt}};
    return s;
}

TEST(StatusFieldList, ListsRoundTripAndDecodeTolerantly) {
    const json j = two_sinks();
    EXPECT_EQ(j["sinks"][0]["name"], "chrony");
    EXPECT_TRUE(j["sinks"][1]["dropped"].is_null());
    EXPECT_EQ(json(j.get<ExampleWithSinks>()), j);

    json older = j;
    older["sinks"][0].erase("dropped");
    older["sinks"][1]["future"] = 1;
    const ExampleWithSinks back = older.get<ExampleWithSinks>();
    EXPECT_FALSE(back.sinks[0].dropped);
    EXPECT_EQ(back.sinks[1].last_error, "EACCES");

    json bad = j;
    bad["sinks"][1]["sent"] = "lots";
    try {
        (void)bad.get<ExampleWithSinks>();
        ADD_FAILURE() << "no error";
    } catch (const json::exception& e) {
        EXPECT_STREQ(e.what(),
                     "field \"sinks[1].sent\" must be a non-negative integer, not \"lots\"");
    }
    bad["sinks"] = "chrony";
    EXPECT_THROW((void)bad.get<ExampleWithSinks>(), json::exception);
}

TEST(StatusFieldList, ListsAreMetricsLabelledByName) {
    EXPECT_EQ(status_views::prometheus_metrics(two_sinks()),
              "# HELP vmrefclock_polls_total Polls of the source.\n"
              "# TYPE vmrefclock_polls_total counter\n"
              "vmrefclock_polls_total 7\n"
              "# HELP vmrefclock_sink_connected 1 when the sink is connected.\n"
              "# TYPE vmrefclock_sink_connected gauge\n"
              "vmrefclock_sink_connected{sink=\"chrony\"} 1\n"
              "vmrefclock_sink_connected{sink=\"clockbound\"} 0\n"
              "# HELP vmrefclock_sink_sent_total Samples the sink sent.\n"
              "# TYPE vmrefclock_sink_sent_total counter\n"
              "vmrefclock_sink_sent_total{sink=\"chrony\"} 990\n"
              "vmrefclock_sink_sent_total{sink=\"clockbound\"} 0\n"
              "# HELP vmrefclock_sink_dropped_total Samples the sink dropped.\n"
              "# TYPE vmrefclock_sink_dropped_total counter\n"
              "vmrefclock_sink_dropped_total{sink=\"chrony\"} 3\n");
}

TEST(StatusFieldList, ListsAreTextRowsPerRecord) {
    std::string text;
    status_views::text_rows(two_sinks(), [&](const std::string& label, const std::string& value) {
        text += label + "|" + value + "\n";
    });
    EXPECT_EQ(text,
              "sink chrony:|state ok, connected yes, sent 990, dropped 3\n"
              "sink clockbound:|state failed, connected no, last error EACCES, sent 0\n");
}

}  // namespace
}  // namespace vmrefclock

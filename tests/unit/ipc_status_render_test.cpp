// The status snapshot's wire form (field names fixed by issue 5) and its renderers.
#include <gtest/gtest.h>

#include <set>

#include "ipc/status/status.h"
#include "tests/support/prometheus_parser.h"

namespace vmrefclock {
namespace {

using nlohmann::json;
using test::parse_with_prometheus_client;
using test::sample_value;

StatusSnapshot full_snapshot() {
    StatusSnapshot s;
    s.state = DaemonState::ok;
    s.reason = "tracking the host clock";
    s.source = {"vmclock", "/dev/vmclock0", "vmclock-page"};
    s.offset_ns = 1234.5;
    s.frequency_ppm = -0.0123;
    s.stddev_ns = 85;
    s.error_bound_ns = 2100;
    s.delay_ns = 850;
    s.samples_in_window = 12;
    s.polls = 1000;
    s.samples_sent = 990;
    s.samples_rejected = 10;
    s.last_sample_age_s = 0.4;
    s.disruptions.count = 2;
    s.disruptions.last_time_ns = 1'767'615'296'789'000'000;  // 2026-01-05T12:14:56.789Z
    s.disruptions.last_cause = "disruption marker changed (live migration)";
    HostStatus host;
    host.clock_status = "synchronized";
    host.maintenance = "soon";
    host.leap = "none";
    host.time_maxerror_ns = 100'000;
    host.disruption_marker = 3;
    host.vm_generation = 1;
    s.host = host;
    s.chrony = {"/run/chrony/vmrefclock.sock", true, std::nullopt};
    s.uptime_s = 3723.5;
    s.version = "0.1.0";
    return s;
}

std::set<std::string> keys(const json& j) {
    std::set<std::string> out;
    for (auto it = j.begin(); it != j.end(); ++it) out.insert(it.key());
    return out;
}

TEST(StatusJson, FieldNamesAreExactlyTheProtocol) {
    json j = full_snapshot();
    EXPECT_EQ(keys(j), (std::set<std::string>{
                           "state", "reason", "source", "offset_ns", "frequency_ppm", "stddev_ns",
                           "error_bound_ns", "delay_ns", "samples_in_window", "polls",
                           "samples_sent", "samples_rejected", "last_sample_age_s", "disruptions",
                           "host", "chrony", "sinks", "cpu_seconds", "uptime_s", "version"}));
    EXPECT_EQ(keys(j["source"]), (std::set<std::string>{"type", "path", "method"}));
    EXPECT_EQ(keys(j["disruptions"]), (std::set<std::string>{"count", "last_time", "last_cause"}));
    EXPECT_EQ(keys(j["host"]),
              (std::set<std::string>{"clock_status", "maintenance", "leap", "time_maxerror_ns",
                                     "disruption_marker", "vm_generation"}));
    EXPECT_EQ(keys(j["chrony"]), (std::set<std::string>{"socket", "connected", "last_error"}));
    EXPECT_EQ(j["state"], "ok");
    EXPECT_EQ(j["host"]["maintenance"], "soon");
    EXPECT_EQ(j["disruptions"]["last_time"], "2026-01-05T12:14:56.789Z");
    EXPECT_TRUE(j["chrony"]["last_error"].is_null());
}

TEST(StatusJson, RoundTrips) {
    StatusSnapshot s = full_snapshot();
    StatusSnapshot back = json(s).get<StatusSnapshot>();
    EXPECT_EQ(json(back), json(s));
    EXPECT_EQ(back.disruptions.last_time_ns, s.disruptions.last_time_ns);
}

TEST(StatusJson, AbsentValuesAreNull) {
    StatusSnapshot s;
    s.state = DaemonState::no_source;
    json j = s;
    EXPECT_EQ(j["state"], "no-source");
    for (const char* key : {"offset_ns", "frequency_ppm", "stddev_ns", "error_bound_ns", "delay_ns",
                            "last_sample_age_s", "host"}) {
        EXPECT_TRUE(j[key].is_null()) << key;
    }
    EXPECT_TRUE(j["disruptions"]["last_time"].is_null());
    StatusSnapshot back = j.get<StatusSnapshot>();
    EXPECT_FALSE(back.offset_ns);
    EXPECT_FALSE(back.host);
    EXPECT_EQ(back.state, DaemonState::no_source);

    HostStatus host;
    json h = host;
    EXPECT_TRUE(h["time_maxerror_ns"].is_null());
    EXPECT_TRUE(h["vm_generation"].is_null());
}

TEST(StatusJson, UnknownStateIsAnError) {
    json j = full_snapshot();
    j["state"] = "great";
    EXPECT_THROW(j.get<StatusSnapshot>(), json::exception);
}

TEST(StatusJson, HostStatusFromHostInfo) {
    HostInfo info;
    info.clock_status = ClockStatus::freerunning;
    info.maintenance = Maintenance::imminent;
    info.leap_indicator = 1;
    info.disruption_marker = 7;
    HostStatus h = host_status_from(info);
    EXPECT_EQ(h.clock_status, "freerunning");
    EXPECT_EQ(h.maintenance, "imminent");
    EXPECT_EQ(h.leap, "pre-positive");
    EXPECT_EQ(h.disruption_marker, 7u);
    EXPECT_FALSE(h.vm_generation);
}

TEST(StatusJson, SampleRecordFields) {
    json j = SampleRecord{1, -2.5, 3, 4, true};
    EXPECT_EQ(keys(j),
              (std::set<std::string>{"time_ns", "offset_ns", "delay_ns", "error_ns", "sent"}));
    EXPECT_EQ(j.get<SampleRecord>().offset_ns, -2.5);
}

TEST(StatusText, StateFirstAndHumanUnits) {
    std::string text = render_text(full_snapshot());
    EXPECT_EQ(text.rfind("state:", 0), 0u) << text;
    EXPECT_NE(text.find("ok - tracking the host clock"), std::string::npos) << text;
    EXPECT_NE(text.find("+1.234 µs"), std::string::npos) << text;  // 1234.5 ns
    EXPECT_NE(text.find("-0.012 ppm"), std::string::npos) << text;
    EXPECT_NE(text.find("850 ns"), std::string::npos) << text;
    EXPECT_NE(text.find("100.0 µs"), std::string::npos) << text;  // host max error
    EXPECT_NE(text.find("1h 2m 3s"), std::string::npos) << text;
    // One screen.
    EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 24);
}

TEST(StatusText, Units) {
    EXPECT_EQ(format_offset(-12'345'678), "-12.35 ms");
    EXPECT_EQ(format_offset(0), "+0 ns");
    EXPECT_EQ(format_duration(2.5e9), "2.500 s");
    EXPECT_EQ(format_duration(999), "999 ns");
}

TEST(StatusText, UtcRoundTrip) {
    EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(parse_utc("2026-01-05T12:14:56.789Z"), 1'767'615'296'789'000'000);
    EXPECT_FALSE(parse_utc("yesterday"));
}

TEST(StatusPrometheus, ParsesWithTheReferenceParser) {
    std::string text = render_prometheus(full_snapshot());
    auto parsed = parse_with_prometheus_client(text);
    if (!parsed) GTEST_SKIP() << "python3 with prometheus_client not installed";
    ASSERT_FALSE(parsed->is_null()) << "parser rejected:\n" << text;
    const json& f = *parsed;
    for (auto it = f.begin(); it != f.end(); ++it) {
        EXPECT_EQ(it.key().rfind("vmrefclock_", 0), 0u) << it.key();
        EXPECT_NE((*it)["type"], "unknown") << it.key() << " lacks a TYPE line";
        EXPECT_FALSE((*it)["help"].get<std::string>().empty()) << it.key() << " lacks HELP";
    }
    // Counters: the parser strips _total from the family name and keeps it on samples.
    for (const char* counter : {"polls", "samples_sent", "samples_rejected", "disruptions"}) {
        std::string name = std::string("vmrefclock_") + counter;
        ASSERT_TRUE(f.contains(name)) << name;
        EXPECT_EQ(f[name]["type"], "counter");
        EXPECT_EQ(f[name]["samples"][0][0], name + "_total");
    }
    EXPECT_EQ(sample_value(f, "vmrefclock_polls"), 1000);
    EXPECT_EQ(sample_value(f, "vmrefclock_samples_rejected"), 10);
    EXPECT_DOUBLE_EQ(sample_value(f, "vmrefclock_offset_seconds"), 1234.5e-9);
    EXPECT_DOUBLE_EQ(sample_value(f, "vmrefclock_frequency_ppm"), -0.0123);
    EXPECT_EQ(f["vmrefclock_offset_seconds"]["type"], "gauge");
    for (DaemonState state : all_daemon_states()) {
        std::string name(to_string(state));
        EXPECT_EQ(sample_value(f, "vmrefclock_state", {{"state", name}}), name == "ok" ? 1 : 0);
    }
    EXPECT_EQ(sample_value(f, "vmrefclock_build_info", {{"version", "0.1.0"}}), 1);
    EXPECT_EQ(sample_value(f, "vmrefclock_host_maintenance", {{"level", "soon"}}), 1);
    EXPECT_EQ(sample_value(f, "vmrefclock_chrony_connected"), 1);
}

TEST(StatusPrometheus, EmptySnapshotAndHostileLabelsStillParse) {
    StatusSnapshot s;
    s.source = {"vm\"clock", "/dev/x\\y\nz", ""};
    s.version = "0.1.0-\"dirty\"";
    auto parsed = parse_with_prometheus_client(render_prometheus(s));
    if (!parsed) GTEST_SKIP() << "python3 with prometheus_client not installed";
    ASSERT_FALSE(parsed->is_null()) << render_prometheus(s);
    EXPECT_FALSE(parsed->contains("vmrefclock_offset_seconds"));  // unknown: left out
    EXPECT_EQ(sample_value(*parsed, "vmrefclock_state", {{"state", "starting"}}), 1);
    EXPECT_EQ(sample_value(*parsed, "vmrefclock_source_info",
                           {{"type", "vm\"clock"}, {"path", "/dev/x\\y\nz"}, {"method", ""}}),
              1);
    EXPECT_EQ(sample_value(*parsed, "vmrefclock_build_info", {{"version", "0.1.0-\"dirty\""}}), 1);
}

}  // namespace
}  // namespace vmrefclock

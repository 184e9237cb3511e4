// The status views byte for byte as they were before the fields were declared once:
// vmrefclockctl users, monitoring and the integration tests read these exact lines,
// metric names and JSON keys. The files in ipc_status_golden/ were first written by the
// hand-made renderers the field tables replaced; fields added since add lines.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "ipc/status/status.h"

namespace vmrefclock {
namespace {

using nlohmann::json;

std::string golden_path(const std::string& name) {
    return std::string(VMR_DEFAULT_SOURCE_DIR) + "/tests/unit/ipc_status_golden/" + name;
}

std::string golden(const std::string& name) {
    std::ifstream in(golden_path(name));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// VMR_UPDATE_GOLDEN=1 rewrites the files (after adding a field); review their diff.
void expect_golden(const std::string& actual, const std::string& name) {
    if (std::getenv("VMR_UPDATE_GOLDEN")) std::ofstream(golden_path(name)) << actual;
    EXPECT_EQ(actual, golden(name)) << name;
}

StatusSnapshot full() {
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
    s.disruptions.last_time_ns = 1'767'615'296'789'000'000;
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
    s.sinks = {{"chrony", "/run/chrony/vmrefclock.sock", "connected", true, std::nullopt, 1200, 3},
               {"clockbound", "/var/run/clockbound/shm0", "writing", true, std::nullopt, 1000,
                std::nullopt}};
    s.cpu_seconds = 0.0123;
    s.uptime_s = 3723.5;
    s.version = "0.1.0";
    return s;
}

// Absent values, a non-finite one, an extreme counter, an error and hostile labels.
StatusSnapshot partial() {
    StatusSnapshot s;
    s.state = DaemonState::holdoff;
    s.source = {"ptp", "/dev/ptp0", ""};
    s.offset_ns = -12'345'678;
    s.stddev_ns = std::numeric_limits<double>::quiet_NaN();
    s.host = HostStatus{};
    s.host->disruption_marker = 18446744073709551615ull;
    s.chrony = {"/run/x.sock", false, std::string("connect: No such file or directory")};
    s.uptime_s = 200000;
    s.version = "0.1.0-\"dirty\"";
    return s;
}

struct Case {
    const char* name;
    StatusSnapshot snapshot;
};

std::vector<Case> cases() {
    return {{"full", full()}, {"empty", StatusSnapshot{}}, {"partial", partial()}};
}

TEST(StatusGolden, TextIsUnchanged) {
    for (const Case& c : cases()) {
        expect_golden(render_text(c.snapshot), std::string(c.name) + ".txt");
    }
}

TEST(StatusGolden, PrometheusIsUnchanged) {
    for (const Case& c : cases()) {
        expect_golden(render_prometheus(c.snapshot), std::string(c.name) + ".prom");
    }
}

TEST(StatusGolden, JsonIsUnchanged) {
    for (const Case& c : cases()) {
        expect_golden(json(c.snapshot).dump() + "\n", std::string(c.name) + ".json");
    }
}

TEST(StatusGolden, JsonReadsBackToTheSameViews) {
    for (const Case& c : cases()) {
        StatusSnapshot back =
            json::parse(golden(std::string(c.name) + ".json")).get<StatusSnapshot>();
        EXPECT_EQ(json(back), json(c.snapshot)) << c.name;
        // NaN travels as null: the text says so by leaving the value out, like an absent one.
        if (std::string(c.name) != "partial") {
            EXPECT_EQ(render_text(back), golden(std::string(c.name) + ".txt")) << c.name;
            EXPECT_EQ(render_prometheus(back), golden(std::string(c.name) + ".prom")) << c.name;
        }
    }
}

}  // namespace
}  // namespace vmrefclock

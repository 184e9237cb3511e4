#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "config/config.h"
#include "tests/support/temp_dir.h"

// GCC 12 at -O2 raises false -Wrestrict errors on `"literal" + std::string` (GCC bug
// 105651), which the tests below build texts with.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace vmrefclock {
namespace {

using test::TempDir;

std::string error_of(std::string_view text) {
    auto r = parse_config(text, "vmrefclockd.toml");
    EXPECT_FALSE(r.ok()) << "expected an error for:\n" << text;
    return r.ok() ? std::string() : r.error().message;
}

TEST(ConfigParse, EmptyTextGivesDefaults) {
    auto r = parse_config("", "empty.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const Config defaults;
    EXPECT_EQ(r->source.type, SourceKind::automatic);
    EXPECT_EQ(r->source.path, "");
    EXPECT_EQ(r->source.method, "auto");
    EXPECT_TRUE(r->source.allow_phc.empty());
    EXPECT_EQ(r->disruption.vmclock, "/dev/vmclock0");
    EXPECT_TRUE(r->disruption.step && r->disruption.suspend && r->disruption.frequency);
    EXPECT_EQ(r->status.socket, "/run/vmrefclock/status.sock");
    EXPECT_DOUBLE_EQ(r->source.interval_s, 0.5);
    EXPECT_EQ(r->source.readings, 10);
    EXPECT_EQ(r->chrony.socket, "/run/chrony/vmrefclock.sock");
    EXPECT_EQ(r->chrony.control_socket, "/run/chrony/chronyd.sock");
    EXPECT_EQ(r->chrony.poll, 2);
    EXPECT_EQ(r->chrony.chronyc, "chronyc");
    EXPECT_EQ(r->log.level, "info");
    EXPECT_EQ(r->source.path, defaults.source.path);
}

TEST(ConfigParse, EmptyTablesGiveDefaults) {
    auto r = parse_config("[source]\n[chrony]\n[log]\n", "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_DOUBLE_EQ(r->source.interval_s, 0.5);
    EXPECT_EQ(r->log.level, "info");
}

TEST(ConfigParse, EveryKeyIsRead) {
    auto r = parse_config(R"(
[source]
type = "vmclock"
path = "/dev/vmclock1"
interval = 0.25
readings = 25
[chrony]
socket = "/tmp/x/vm.sock"
control_socket = "/tmp/x/chronyd.sock"
poll = -1
chronyc = "/usr/local/bin/chronyc"
[log]
level = "debug"
)",
                          "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->source.type, SourceKind::vmclock);
    EXPECT_EQ(r->source.path, "/dev/vmclock1");
    EXPECT_DOUBLE_EQ(r->source.interval_s, 0.25);
    EXPECT_EQ(r->source.readings, 25);
    EXPECT_EQ(r->chrony.socket, "/tmp/x/vm.sock");
    EXPECT_EQ(r->chrony.control_socket, "/tmp/x/chronyd.sock");
    EXPECT_EQ(r->chrony.poll, -1);
    EXPECT_EQ(r->chrony.chronyc, "/usr/local/bin/chronyc");
    EXPECT_EQ(r->log.level, "debug");
}

TEST(ConfigParse, DottedAndInlineTablesWork) {
    auto r = parse_config("source.interval = 2\nchrony = { poll = 4 }\n", "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_DOUBLE_EQ(r->source.interval_s, 2.0);
    EXPECT_EQ(r->chrony.poll, 4);
}

TEST(ConfigParse, IntegerIntervalIsAccepted) {
    auto r = parse_config("[source]\ninterval = 1\n", "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_DOUBLE_EQ(r->source.interval_s, 1.0);
}

TEST(ConfigParse, RangeLimitsAreInclusive) {
    auto r =
        parse_config("[source]\ninterval = 0.05\nreadings = 100\n[chrony]\npoll = 8\n", "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    r = parse_config("[source]\ninterval = 60\nreadings = 1\n[chrony]\npoll = -4\n", "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(ConfigParse, EmptyControlSocketDisablesReset) {
    auto r = parse_config("[chrony]\ncontrol_socket = \"\"\n", "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->chrony.control_socket, "");
}

TEST(ConfigParse, AllLogLevelsAccepted) {
    for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
        auto r = parse_config(std::string("[log]\nlevel = \"") + level + "\"\n", "t.toml");
        ASSERT_TRUE(r.ok()) << level << ": " << r.error().message;
        EXPECT_EQ(r->log.level, level);
    }
}

TEST(ConfigParse, OutOfRangeNamesOriginLineAndKey) {
    EXPECT_EQ(error_of("[source]\npath = \"/dev/vmclock0\"\n\ninterval = 100\n"),
              "vmrefclockd.toml:4: [source] interval: must be between 0.05 and 60 s, got 100");
    EXPECT_EQ(error_of("[source]\ninterval = 0.01\n"),
              "vmrefclockd.toml:2: [source] interval: must be between 0.05 and 60 s, got 0.01");
    EXPECT_EQ(error_of("[source]\nreadings = 0\n"),
              "vmrefclockd.toml:2: [source] readings: must be between 1 and 100, got 0");
    EXPECT_EQ(error_of("[source]\nreadings = 101\n"),
              "vmrefclockd.toml:2: [source] readings: must be between 1 and 100, got 101");
    EXPECT_EQ(error_of("[chrony]\npoll = 9\n"),
              "vmrefclockd.toml:2: [chrony] poll: must be between -4 and 8 (log2 s), got 9");
    EXPECT_EQ(error_of("[chrony]\npoll = -5\n"),
              "vmrefclockd.toml:2: [chrony] poll: must be between -4 and 8 (log2 s), got -5");
}

TEST(ConfigParse, HugeIntegersDoNotWrap) {
    // 2^32 + 5 would wrap to 5 if cast to int before the range check.
    EXPECT_NE(error_of("[source]\nreadings = 4294967301\n").find("got 4294967301"),
              std::string::npos);
}

TEST(ConfigParse, NanAndInfinityAreOutOfRange) {
    EXPECT_NE(error_of("[source]\ninterval = nan\n").find("[source] interval: must be between"),
              std::string::npos);
    EXPECT_NE(error_of("[source]\ninterval = inf\n").find("got inf"), std::string::npos);
}

TEST(ConfigParse, WrongTypesAreErrors) {
    EXPECT_EQ(error_of("[source]\ninterval = \"0.5\"\n"),
              "vmrefclockd.toml:2: [source] interval: must be a number, got string");
    EXPECT_EQ(error_of("[source]\nreadings = 10.0\n"),
              "vmrefclockd.toml:2: [source] readings: must be an integer, got floating-point");
    EXPECT_EQ(error_of("[source]\nreadings = \"10\"\n"),
              "vmrefclockd.toml:2: [source] readings: must be an integer, got string");
    EXPECT_EQ(error_of("[source]\npath = 3\n"),
              "vmrefclockd.toml:2: [source] path: must be a string, got integer");
    EXPECT_EQ(error_of("[chrony]\npoll = true\n"),
              "vmrefclockd.toml:2: [chrony] poll: must be an integer, got boolean");
    EXPECT_EQ(error_of("[chrony]\nsocket = [\"/a\"]\n"),
              "vmrefclockd.toml:2: [chrony] socket: must be a string, got array");
    EXPECT_EQ(error_of("[log]\nlevel = 1\n"),
              "vmrefclockd.toml:2: [log] level: must be a string, got integer");
    EXPECT_EQ(error_of("source = 1\n"),
              "vmrefclockd.toml:1: [source] must be a table, got integer");
    EXPECT_EQ(error_of("[[source]]\ninterval = 1\n"),
              "vmrefclockd.toml:1: [source] must be a table, got array");
}

TEST(ConfigParse, UnknownTablesAndKeysAreErrors) {
    EXPECT_EQ(error_of("[source]\nintervall = 1\n"),
              "vmrefclockd.toml:2: [source] unknown key \"intervall\" "
              "(accepted: type, path, method, interval, readings, allow_phc, sysfs_root, "
              "dev_root, record, record_max_mb)");
    EXPECT_EQ(error_of("[chrony]\nsocket = \"/a\"\nrefid = \"VMCK\"\n"),
              "vmrefclockd.toml:3: [chrony] unknown key \"refid\" "
              "(accepted: socket, control_socket, poll, chronyc)");
    EXPECT_EQ(error_of("[log]\nlevel = \"info\"\n\n[statuss]\nsocket = \"/x\"\n"),
              "vmrefclockd.toml:4: unknown table [statuss] "
              "(accepted tables: [source], [chrony], [disruption], [status], [clockbound], [log])");
    EXPECT_EQ(error_of("interval = 1\n"),
              "vmrefclockd.toml:1: unknown top-level key \"interval\" "
              "(accepted tables: [source], [chrony], [disruption], [status], [clockbound], [log])");
}

TEST(ConfigParse, SourceTypeListsAcceptedValues) {
    EXPECT_EQ(error_of("[source]\ntype = \"phc\"\n"),
              "vmrefclockd.toml:2: [source] type: must be one of \"auto\", \"ptp\", "
              "\"vmclock\"; got \"phc\"");
}

TEST(ConfigParse, BadLogLevelListsAcceptedValues) {
    EXPECT_EQ(error_of("[log]\nlevel = \"verbose\"\n"),
              "vmrefclockd.toml:2: [log] level: must be one of \"trace\", \"debug\", \"info\", "
              "\"warn\", \"error\", \"critical\", \"off\"; got \"verbose\"");
}

TEST(ConfigParse, SocketPathsAreChecked) {
    EXPECT_EQ(error_of("[chrony]\nsocket = \"\"\n"),
              "vmrefclockd.toml:2: [chrony] socket: must not be empty");
    EXPECT_EQ(error_of("[chrony]\nsocket = \"run/vm.sock\"\n"),
              "vmrefclockd.toml:2: [chrony] socket: must be an absolute path, got \"run/vm.sock\"");
    EXPECT_EQ(error_of("[chrony]\ncontrol_socket = \"chronyd.sock\"\n"),
              "vmrefclockd.toml:2: [chrony] control_socket: must be an absolute path, got "
              "\"chronyd.sock\"");
    // 107 bytes fit in sun_path with the NUL; 108 do not.
    std::string fits = "/" + std::string(106, 'a');
    auto r = parse_config("[chrony]\nsocket = \"" + fits + "\"\n", "t.toml");
    EXPECT_TRUE(r.ok()) << r.error().message;
    std::string too_long = "/" + std::string(107, 'a');
    EXPECT_EQ(error_of("[chrony]\nsocket = \"" + too_long + "\"\n"),
              "vmrefclockd.toml:2: [chrony] socket: must be shorter than 108 bytes (the size of "
              "sun_path), got 108");
    EXPECT_NE(error_of("[chrony]\ncontrol_socket = \"" + too_long + "\"\n").find("got 108"),
              std::string::npos);
    EXPECT_EQ(error_of("[chrony]\nsocket = \"/a\\u0000b\"\n"),
              "vmrefclockd.toml:2: [chrony] socket: must not contain a NUL character");
}

TEST(ConfigParse, EmptyStringsAreRejectedWhereMeaningless) {
    EXPECT_EQ(error_of("[chrony]\nchronyc = \"\"\n"),
              "vmrefclockd.toml:2: [chrony] chronyc: must not be empty");
    EXPECT_EQ(error_of("[source]\nsysfs_root = \"\"\n"),
              "vmrefclockd.toml:2: [source] sysfs_root: must not be empty");
}

TEST(ConfigParse, SyntaxErrorNamesOriginLineAndColumn) {
    std::string e = error_of("[source]\ninterval = 0.5\nreadings = = 3\n");
    EXPECT_EQ(e.rfind("vmrefclockd.toml:3:", 0), 0u) << e;
    // Then a column and toml++'s own description.
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(e[std::strlen("vmrefclockd.toml:3:")])))
        << e;
    EXPECT_GT(e.size(), std::strlen("vmrefclockd.toml:3:1: ")) << e;

    e = error_of("[source]\ninterval = 1\ninterval = 2\n");
    EXPECT_EQ(e.rfind("vmrefclockd.toml:3:", 0), 0u) << e;
}

// Every place an error quotes the file's text quotes at most 80 bytes of it, escaped.
TEST(ConfigParse, ErrorsQuoteABoundedExcerpt) {
    const std::string big(1'000'000, 'x');
    const std::vector<std::string> hostile = {
        "[" + big + "]\n",
        big + " = 1\n",
        "[source]\n" + big + " = 1\n",
        "[source]\ntype = \"" + big + "\"\n",
        "[log]\nlevel = \"" + big + "\"\n",
        "[chrony]\nsocket = \"" + big + "\"\n",
        "[chrony]\ncontrol_socket = \"" + big + "\"\n",
        "[status]\nsocket = \"" + big + "\"\n",
        // toml++'s own descriptions quote the key of a redefinition.
        "[source]\n" + big + " = 1\n" + big + " = 2\n",
        "[" + big + "]\n[" + big + "]\n",
        "[source]\ntype = \"" + big,  // unterminated string
        "[source]\ninterval = " + std::string(1'000'000, '9') + "\n",
        "[source]\nallow_phc = [" + std::string(100'000, '[') + "\n",
    };
    for (const std::string& text : hostile) {
        const std::string e = error_of(text);
        EXPECT_LT(e.size(), 400u) << e.substr(0, 600);
        EXPECT_GT(e.size(), std::strlen("vmrefclockd.toml:1: ")) << e;
    }
    // A BEL, a quote and a backslash in a quoted key: escaped, not passed through.
    const std::string escaped = error_of(R"([source]
"a\u0007\"b\\" = 1
)");
    EXPECT_EQ(escaped.substr(0, escaped.find(" (accepted")),
              R"(vmrefclockd.toml:2: [source] unknown key "a\x07\"b\\")");
    // A cut never splits a UTF-8 character: 79 ASCII bytes and a 2-byte character.
    const std::string e = error_of("[source]\n\"" + std::string(79, 'a') + "\xc3\xa9\" = 1\n");
    EXPECT_NE(e.find("\"" + std::string(79, 'a') + "...\" (81 bytes)"), std::string::npos) << e;
}

std::filesystem::path source_dir() {
    if (const char* dir = std::getenv("VMR_SOURCE_DIR"); dir && *dir) return dir;
    return VMR_DEFAULT_SOURCE_DIR;
}

TEST(ConfigLoad, ExampleFileParsesToTheDefaults) {
    auto path = source_dir() / "config" / "vmrefclockd.toml";
    auto r = load_config(path.string());
    ASSERT_TRUE(r.ok()) << r.error().message;
    const Config d;
    EXPECT_EQ(r->source.type, d.source.type);
    EXPECT_EQ(r->source.path, d.source.path);
    EXPECT_DOUBLE_EQ(r->source.interval_s, d.source.interval_s);
    EXPECT_EQ(r->source.readings, d.source.readings);
    EXPECT_EQ(r->chrony.socket, d.chrony.socket);
    EXPECT_EQ(r->chrony.control_socket, d.chrony.control_socket);
    EXPECT_EQ(r->chrony.poll, d.chrony.poll);
    EXPECT_EQ(r->chrony.chronyc, d.chrony.chronyc);
    EXPECT_EQ(r->log.level, d.log.level);
    EXPECT_EQ(r->source.method, d.source.method);
    EXPECT_EQ(r->source.allow_phc, d.source.allow_phc);
    EXPECT_EQ(r->source.sysfs_root, d.source.sysfs_root);
    EXPECT_EQ(r->source.dev_root, d.source.dev_root);
    EXPECT_EQ(r->source.record, d.source.record);
    EXPECT_EQ(r->source.record_max_mb, d.source.record_max_mb);
    EXPECT_EQ(r->disruption.vmclock, d.disruption.vmclock);
    EXPECT_EQ(r->disruption.step, d.disruption.step);
    EXPECT_DOUBLE_EQ(r->disruption.step_floor_us, d.disruption.step_floor_us);
    EXPECT_DOUBLE_EQ(r->disruption.step_sigma, d.disruption.step_sigma);
    EXPECT_DOUBLE_EQ(r->disruption.step_probation_s, d.disruption.step_probation_s);
    EXPECT_DOUBLE_EQ(r->disruption.suspend_threshold_ms, d.disruption.suspend_threshold_ms);
    EXPECT_DOUBLE_EQ(r->disruption.frequency_bound_ppm, d.disruption.frequency_bound_ppm);
    EXPECT_EQ(r->status.socket, d.status.socket);
    EXPECT_EQ(r->status.group, d.status.group);
}

TEST(ConfigLoad, ExampleFileSetsEveryKey) {
    // The example doubles as the reference documentation: every key must be in it.
    auto path = source_dir() / "config" / "vmrefclockd.toml";
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* key : {"type =",          "path =",
                            "method =",        "interval =",
                            "readings =",      "allow_phc =",
                            "sysfs_root =",    "dev_root =",
                            "socket =",        "control_socket =",
                            "poll =",          "chronyc =",
                            "vmclock =",       "step =",
                            "step_floor_us =", "step_sigma =",
                            "suspend =",       "suspend_threshold_ms =",
                            "frequency =",     "frequency_bound_ppm =",
                            "group =",         "level =",
                            "record =",        "record_max_mb =",
                            "step_probation ="}) {
        EXPECT_NE(text.find(std::string("\n") + key), std::string::npos) << key;
    }
}

TEST(ConfigParse, RecordIsAnAbsolutePathOrEmpty) {
    auto r = parse_config(
        "[source]\nrecord = \"/var/lib/vmrefclock/trace.csv\"\n"
        "record_max_mb = 5\n",
        "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->source.record, "/var/lib/vmrefclock/trace.csv");
    EXPECT_EQ(r->source.record_max_mb, 5);
    EXPECT_TRUE(parse_config("[source]\nrecord = \"\"\n", "t.toml").ok());
    auto rel = parse_config("[source]\nrecord = \"trace.csv\"\n", "t.toml");
    ASSERT_FALSE(rel.ok());
    EXPECT_EQ(rel.error().message,
              "t.toml:2: [source] record: must be an absolute path or \"\", got \"trace.csv\"");
    auto big = parse_config("[source]\nrecord_max_mb = 0\n", "t.toml");
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.error().message.find("record_max_mb: must be between 1 and 100000 MB"),
              std::string::npos)
        << big.error().message;
}

TEST(ConfigLoad, MissingFileNamesPathAndErrno) {
    TempDir dir;
    std::string path = dir.path() + "/nope.toml";
    auto r = load_config(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "cannot read " + path + ": " + std::strerror(ENOENT));
    EXPECT_EQ(r.error().code, ENOENT);
}

TEST(ConfigLoad, DirectoryIsAnError) {
    TempDir dir;
    auto r = load_config(dir.path());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "cannot read " + dir.path() + ": " + std::strerror(EISDIR));
}

// Issue 9: a FIFO, a character device and an oversized file are refused at once, before
// a byte is read: a FIFO without a writer would block (a SIGHUP reload runs on the event
// loop) and /dev/zero would never end.
TEST(ConfigLoad, FifoIsRefusedAtOnceWithoutBlocking) {
    TempDir dir;
    const std::string path = dir.file("fifo.toml");
    ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
    const auto start = std::chrono::steady_clock::now();
    auto r = load_config(path);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "cannot read " + path + ": a FIFO, not a regular file");
    EXPECT_LT(took, std::chrono::milliseconds(100));
}

TEST(ConfigLoad, CharacterDeviceIsRefusedAtOnce) {
    for (const char* dev : {"/dev/zero", "/dev/null", "/dev/urandom"}) {
        const auto start = std::chrono::steady_clock::now();
        auto r = load_config(dev);
        const auto took = std::chrono::steady_clock::now() - start;
        ASSERT_FALSE(r.ok()) << dev;
        EXPECT_EQ(r.error().message,
                  std::string("cannot read ") + dev + ": a character device, not a regular file");
        EXPECT_LT(took, std::chrono::milliseconds(100)) << dev;
    }
}

TEST(ConfigLoad, FilesAboveOneMebibyteAreRefused) {
    TempDir dir;
    const std::string path = dir.file("big.toml");
    // Exactly 1 MiB of comments and a key: still a configuration.
    std::string text = "[log]\nlevel = \"debug\"\n";
    text += "#" + std::string((1 << 20) - text.size() - 2, 'x') + "\n";
    ASSERT_EQ(text.size(), size_t(1) << 20);
    std::ofstream(path, std::ios::binary) << text;
    auto r = load_config(path);
    ASSERT_TRUE(r.ok()) << r.error().message.substr(0, 300);
    EXPECT_EQ(r->log.level, "debug");

    std::ofstream(path, std::ios::binary | std::ios::app) << "#";
    r = load_config(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "cannot read " + path +
                                     ": 1048577 bytes, more than the 1048576 bytes (1 MiB) a "
                                     "configuration may have");
}

// A 1 MB unknown key gives an error of a few hundred bytes that still names the problem,
// through the file and through the parser.
TEST(ConfigLoad, HugeUnknownKeyGivesAShortError) {
    TempDir dir;
    const std::string path = dir.file("key.toml");
    const std::string key(1'000'000, 'k');
    std::ofstream(path, std::ios::binary) << "[source]\n" << key << " = 1\n";
    auto r = load_config(path);
    ASSERT_FALSE(r.ok());
    EXPECT_LT(r.error().message.size(), path.size() + 300) << r.error().message.substr(0, 500);
    EXPECT_EQ(r.error().message,
              path + ":2: [source] unknown key \"" + std::string(80, 'k') +
                  "...\" (1000000 bytes) (accepted: type, path, method, interval, readings, "
                  "allow_phc, sysfs_root, dev_root, record, record_max_mb)");
}

TEST(ConfigLoad, ErrorsNameThePathAsOrigin) {
    TempDir dir;
    std::string path = dir.path() + "/v.toml";
    std::ofstream(path) << "[source]\nreadings = 1000\n";
    auto r = load_config(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              path + ":2: [source] readings: must be between 1 and 100, got 1000");
}

TEST(ConfigParse, PtpAndDisruptionKeys) {
    auto r = parse_config(R"(
[source]
type = "ptp"
path = "/dev/ptp2"
method = "basic"
allow_phc = ["ena-ptp-0", "ptp3"]
sysfs_root = "/tmp/sys"
dev_root = "/tmp/dev"
[disruption]
vmclock = ""
step = false
step_floor_us = 500
step_sigma = 8
step_probation = 5
suspend = false
suspend_threshold_ms = 5
frequency = false
frequency_bound_ppm = 80
[status]
socket = "/run/x/status.sock"
group = "adm"
)",
                          "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->source.type, SourceKind::ptp);
    EXPECT_EQ(r->source.method, "basic");
    EXPECT_EQ(r->source.allow_phc, (std::vector<std::string>{"ena-ptp-0", "ptp3"}));
    EXPECT_EQ(r->source.sysfs_root, "/tmp/sys");
    EXPECT_EQ(r->disruption.vmclock, "");
    EXPECT_FALSE(r->disruption.step || r->disruption.suspend || r->disruption.frequency);
    EXPECT_DOUBLE_EQ(r->disruption.step_floor_us, 500);
    EXPECT_DOUBLE_EQ(r->disruption.frequency_bound_ppm, 80);
    EXPECT_DOUBLE_EQ(r->disruption.step_probation_s, 5);
    EXPECT_EQ(r->status.group, "adm");
}

TEST(ConfigParse, PtpAndDisruptionErrorsNameTheKey) {
    EXPECT_EQ(error_of("[source]\nmethod = \"fast\"\n"),
              "vmrefclockd.toml:2: [source] method: must be one of \"auto\", \"precise\", "
              "\"extended\", \"basic\"; got \"fast\"");
    EXPECT_EQ(error_of("[source]\nallow_phc = \"ptp3\"\n"),
              "vmrefclockd.toml:2: [source] allow_phc: must be an array of strings, got string");
    EXPECT_EQ(error_of("[source]\nallow_phc = [1]\n"),
              "vmrefclockd.toml:2: [source] allow_phc: must be a string, got integer");
    EXPECT_EQ(error_of("[disruption]\nstep = 1\n"),
              "vmrefclockd.toml:2: [disruption] step: must be true or false, got integer");
    EXPECT_EQ(error_of("[disruption]\nstep_floor_us = 1\n"),
              "vmrefclockd.toml:2: [disruption] step_floor_us: must be between 10 and 1000000 us, "
              "got 1");
}

}  // namespace
}  // namespace vmrefclock

namespace vmrefclock {
namespace {

// Every path the daemon opens is absolute, so it does not depend on the working
// directory the daemon happens to start in; chronyc is a name or an absolute path.
TEST(ConfigParse, PathsMustBeAbsolute) {
    EXPECT_EQ(error_of("[source]\npath = \"dev/vmclock0\"\n"),
              "vmrefclockd.toml:2: [source] path: must be an absolute path, got \"dev/vmclock0\"");
    EXPECT_EQ(error_of("[source]\nsysfs_root = \"sys\"\n"),
              "vmrefclockd.toml:2: [source] sysfs_root: must be an absolute path, got \"sys\"");
    EXPECT_EQ(error_of("[source]\ndev_root = \"./dev\"\n"),
              "vmrefclockd.toml:2: [source] dev_root: must be an absolute path, got \"./dev\"");
    EXPECT_EQ(error_of("[disruption]\nvmclock = \"vmclock0\"\n"),
              "vmrefclockd.toml:2: [disruption] vmclock: must be an absolute path, got "
              "\"vmclock0\"");
    EXPECT_EQ(error_of("[chrony]\nchronyc = \"bin/chronyc\"\n"),
              "vmrefclockd.toml:2: [chrony] chronyc: must be a program name (looked up in PATH) "
              "or an absolute path, got \"bin/chronyc\"");
    // Empty means "the default" where it did before.
    auto r = parse_config("[source]\npath = \"\"\n[disruption]\nvmclock = \"\"\n", "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(parse_config("[chrony]\nchronyc = \"chronyc\"\n", "t.toml").ok());
}

}  // namespace
}  // namespace vmrefclock

// [source] record: what the daemon writes is a trace file the lab replays reading for
// reading; the file is bounded; failures are reported and retried, never fatal.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/trace_recorder.h"
#include "filter/batch_trace.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

using test::TempDir;

Batch batch(int64_t t, uint64_t marker, bool host) {
    Batch b;
    for (int i = 0; i < 10; ++i) {
        const int64_t pre = t + 100 * i;
        b.readings.push_back({pre, pre + 17 + 250'000 + i, pre + 34 + i % 3});
    }
    if (host) {
        HostInfo h;
        h.disruption_marker = marker;
        h.time_maxerror_ns = 50;
        b.host = h;
    }
    return b;
}

std::vector<TracePoll> parse_file(const std::string& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in) << path;
    TraceParser parser(path);
    std::vector<TracePoll> polls;
    std::string line;
    while (std::getline(in, line)) {
        auto r = parser.feed(line);
        EXPECT_TRUE(r) << r.error().message;
        if (r && *r) polls.push_back(std::move(**r));
    }
    auto r = parser.finish();
    EXPECT_TRUE(r) << r.error().message;
    if (r && *r) polls.push_back(std::move(**r));
    return polls;
}

TEST(TraceRecorder, RecordsEveryReadingAsTheLabReadsIt) {
    TempDir dir;
    const std::string path = dir.file("trace.csv");
    std::vector<Batch> sent;
    {
        TraceRecorder rec(path, 1 << 20);
        for (int p = 0; p < 50; ++p) {
            sent.push_back(
                batch(1'782'000'000'000'000'000 + p * 500'000'000LL, p < 25 ? 1 : 2, p % 7 != 3));
            rec.record(sent.back());
            EXPECT_EQ(rec.last_error(), "");
        }
        rec.record(Batch{});  // nothing to record: no line, no poll (the file has 50)
    }
    const std::vector<TracePoll> polls = parse_file(path);
    ASSERT_EQ(polls.size(), sent.size());
    for (size_t p = 0; p < polls.size(); ++p) {
        EXPECT_EQ(polls[p].poll, static_cast<int64_t>(p));
        ASSERT_EQ(polls[p].batch.readings.size(), sent[p].readings.size());
        for (size_t i = 0; i < sent[p].readings.size(); ++i) {
            EXPECT_EQ(polls[p].batch.readings[i].sys_pre_ns, sent[p].readings[i].sys_pre_ns);
            EXPECT_EQ(polls[p].batch.readings[i].ref_ns, sent[p].readings[i].ref_ns);
            EXPECT_EQ(polls[p].batch.readings[i].sys_post_ns, sent[p].readings[i].sys_post_ns);
        }
        ASSERT_EQ(polls[p].batch.host.has_value(), sent[p].host.has_value()) << p;
        if (sent[p].host) {
            EXPECT_EQ(polls[p].batch.host->disruption_marker, sent[p].host->disruption_marker);
            EXPECT_EQ(polls[p].batch.host->time_maxerror_ns, sent[p].host->time_maxerror_ns);
        }
        EXPECT_TRUE(polls[p].true_offset_ns.empty());  // the daemon knows no truth
    }
}

TEST(TraceRecorder, StaysWithinTwiceTheLimitAndMovesAnOldFileAside) {
    TempDir dir;
    const std::string path = dir.file("trace.csv");
    { std::ofstream(path) << "an old recording\n"; }
    const uint64_t limit = 20'000;
    {
        TraceRecorder rec(path, limit);
        for (int p = 0; p < 200; ++p) rec.record(batch(1'000'000'000LL * (p + 1), 1, true));
        EXPECT_EQ(rec.last_error(), "");
    }
    ASSERT_TRUE(std::filesystem::exists(path + ".1"));
    EXPECT_LE(std::filesystem::file_size(path), limit);
    EXPECT_LE(std::filesystem::file_size(path + ".1"), limit);
    EXPECT_GT(std::filesystem::file_size(path), 1000u);
    // Both halves are whole trace files; together they end with the last poll.
    const std::vector<TracePoll> newest = parse_file(path);
    ASSERT_FALSE(newest.empty());
    EXPECT_EQ(newest.back().poll, 199);
    EXPECT_FALSE(parse_file(path + ".1").empty());
}

TEST(TraceRecorder, AFailureIsReportedAndRetriedNotFatal) {
    TempDir dir;
    const std::string sub = dir.file("not-yet");
    const std::string path = sub + "/trace.csv";
    TraceRecorder rec(path, 1 << 20);
    rec.record(batch(1'000'000'000, 1, true));
    EXPECT_NE(rec.last_error().find("cannot open " + path), std::string::npos) << rec.last_error();
    ASSERT_EQ(mkdir(sub.c_str(), 0700), 0);
    rec.record(batch(2'000'000'000, 1, true));
    EXPECT_EQ(rec.last_error(), "");
    const std::vector<TracePoll> polls = parse_file(path);
    ASSERT_EQ(polls.size(), 1u);
    EXPECT_EQ(polls[0].poll, 1);
}

}  // namespace
}  // namespace vmrefclock

// Bounded time, live: vmclock-sim (a clean page: offset 0, host maxerror 0, then four
// migration-like disruptions, each step larger than the offset before it, so the old
// clock's bound never covers the new clock) -> vmrefclockd -> a private chronyd, with the
// daemon writing the ClockBound segment and a client reading it continuously through the
// project's C client. Every read is checked against the simulator's truth: the host's
// time must lie inside [earliest, latest]; and the segment must leave Synchronized soon
// after the simulator wrote each disruption (CLOCK_MONOTONIC, from its truth file).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "clockbound/clockbound_client.h"
#include "tests/integration/harness.h"
#include "tests/support/clockbound_reference_reader.h"

namespace vmrefclock::test {
namespace {

using namespace std::chrono_literals;

constexpr int kChronyPoll = 2;
constexpr int64_t kPollNs = 500'000'000;  // the daemon's interval in vmclock_daemon_config

// The page's disruption marker under its seqcount, as the test sees it around each read.
class PageMarker {
  public:
    explicit PageMarker(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw std::runtime_error("cannot open " + path);
        map_ = static_cast<const unsigned char*>(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0));
        ::close(fd);
        if (map_ == MAP_FAILED) throw std::runtime_error("cannot map " + path);
    }
    ~PageMarker() { munmap(const_cast<unsigned char*>(map_), 4096); }
    uint64_t read() const {
        const auto* seq = reinterpret_cast<const uint32_t*>(map_ + 12);
        const auto* marker = reinterpret_cast<const uint64_t*>(map_ + 16);
        for (;;) {
            const uint32_t s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
            if (s & 1) continue;
            const uint64_t m = __atomic_load_n(marker, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (__atomic_load_n(seq, __ATOMIC_RELAXED) == s) return m;
        }
    }

  private:
    const unsigned char* map_ = nullptr;
};

struct ClientRead {
    int64_t real_ns = 0;  // the CLOCK_REALTIME now() used: earliest + bound
    int64_t bound_ns = 0;
    int status = 0;
    uint64_t page_marker = 0;  // the same before and after the read, else ambiguous
    bool ambiguous = false;
    int segment_status = -1;  // the segment itself, without the client's marker check
    // CLOCK_MONOTONIC around the segment read: it showed segment_status at some instant
    // between the two.
    int64_t segment_mono_before_ns = 0, segment_mono_after_ns = 0;
};

int64_t mono_now_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

int64_t ns_of(const timespec& t) {
    return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// The truth for a read: the simulator's piece for the marker the read saw, the latest
// one starting at or before it (pieces of one marker are continuous).
std::optional<double> truth_at(const std::vector<Truth>& pieces, uint64_t marker, int64_t t_ns) {
    const Truth* best = nullptr;
    const Truth* earliest = nullptr;
    for (const auto& p : pieces) {
        if (p.marker != marker) continue;
        if (!earliest || p.realtime_ns < earliest->realtime_ns) earliest = &p;
        if (p.realtime_ns <= t_ns && (!best || p.realtime_ns > best->realtime_ns)) best = &p;
    }
    if (!best) best = earliest;
    if (!best) return std::nullopt;
    return best->at(t_ns);
}

// One live run; `notifications`: the simulated page sets NOTIFICATION_PRESENT and a FIFO
// stands in for the device's readability, so the daemon acts between polls.
void live_run(bool notifications) {
    TempDir dir;
    const std::string page = dir.file("vmclock0"), truth_file = dir.file("truth");
    const std::string shm = dir.file("clockbound/shm0");
    write_file(dir.file("scenario.toml"),
               // Offsets 2, -3, 4, -5 ms; at phases that differ against the daemon's
               // 100-ms watch of the page.
               "[[event]]\nat = 14.0\ntype = \"disruption\"\nstep = 0.002\n"
               "[[event]]\nat = 17.013\ntype = \"disruption\"\nstep = -0.005\n"
               "[[event]]\nat = 20.029\ntype = \"disruption\"\nstep = 0.007\n"
               "[[event]]\nat = 23.041\ntype = \"disruption\"\nstep = -0.009\n");
    std::vector<std::string> sim_argv = {bin_dir() + "/vmclock-sim",
                                         "--page",
                                         page,
                                         "--offset",
                                         "0",
                                         "--freq-ppm",
                                         "0",
                                         "--update-interval",
                                         "1",
                                         "--truth-file",
                                         truth_file,
                                         "--maxerror-ns",
                                         "0",
                                         "--seed",
                                         "1",
                                         "--scenario",
                                         dir.file("scenario.toml")};
    std::string extra = "[clockbound]\nenabled = true\npath = \"" + shm + "\"\n";
    if (notifications) {
        sim_argv.insert(sim_argv.end(), {"--notify-fifo", dir.file("notify")});
        extra += "[disruption]\nnotify_fifo = \"" + dir.file("notify") + "\"\n";
    }
    Process sim(sim_argv, dir.file("sim.log"));
    const auto sim_started = std::chrono::steady_clock::now();
    ASSERT_TRUE(wait_until([&] { return read_truth(truth_file).has_value(); }, 10s)) << sim.log();
    Chrony chrony(dir, kChronyPoll);
    write_file(dir.file("vmrefclockd.toml"),
               vmclock_daemon_config(page, chrony, kChronyPoll, dir.file("status.sock"), extra));
    Process daemon({bin_dir() + "/vmrefclockd", "-c", dir.file("vmrefclockd.toml")},
                   dir.file("daemon.log"));

    vmr_cb_client* client = nullptr;
    ASSERT_TRUE(wait_until(
        [&] {
            int error = 0;
            client = vmr_cb_open(shm.c_str(), page.c_str(), &error);
            return client != nullptr;
        },
        10s, 50ms))
        << daemon.log();

    // The truth, polled far faster than the simulator re-anchors it (1 s).
    std::vector<Truth> pieces;
    std::mutex pieces_mutex;
    std::atomic<bool> done{false};
    std::thread truth_reader([&] {
        while (!done) {
            if (auto t = read_truth(truth_file)) {
                std::lock_guard lock(pieces_mutex);
                if (pieces.empty() || pieces.back().realtime_ns != t->realtime_ns) {
                    pieces.push_back(*t);
                }
            }
            std::this_thread::sleep_for(5ms);
        }
    });

    PageMarker marker(page);
    std::vector<ClientRead> reads;
    reads.reserve(400'000);
    const auto end = sim_started + 30s;
    const timespec pause{0, 100'000};
    while (std::chrono::steady_clock::now() < end) {
        ClientRead r;
        vmr_cb_now_result now{};
        const uint64_t before = marker.read();
        ASSERT_EQ(vmr_cb_now(client, &now), VMR_CB_OK);
        const uint64_t after = marker.read();
        r.real_ns = ns_of(now.earliest) + now.bound_ns;
        r.bound_ns = now.bound_ns;
        r.status = now.status;
        r.page_marker = before;
        r.ambiguous = before != after;
        r.segment_mono_before_ns = mono_now_ns();
        if (auto s = reference_read(shm).segment) r.segment_status = s->clock_status;
        r.segment_mono_after_ns = mono_now_ns();
        reads.push_back(r);
        clock_nanosleep(CLOCK_MONOTONIC, 0, &pause, nullptr);
    }
    done = true;
    truth_reader.join();
    vmr_cb_close(client);

    std::vector<Truth> steps;
    for (size_t i = 1; i < pieces.size(); ++i) {
        if (pieces[i].disruptions != pieces[i - 1].disruptions) steps.push_back(pieces[i]);
    }
    ASSERT_EQ(steps.size(), 4u) << sim.log();

    // Every read against the truth; each miss with its statuses, how long after the
    // host's latest disruption, and by how much.
    uint64_t sync = 0, sync_out = 0, all_out = 0, ambiguous = 0, no_truth = 0, unbounded = 0;
    double worst_sync_margin_ns = INFINITY;
    int printed = 0;
    for (const auto& r : reads) {
        if (r.ambiguous) {
            ++ambiguous;
            continue;
        }
        auto truth = truth_at(pieces, r.page_marker, r.real_ns);
        if (!truth) {
            ++no_truth;
            continue;
        }
        if (r.bound_ns >= VMR_CB_UNKNOWN_BOUND_NS) ++unbounded;
        const bool inside = std::abs(*truth) <= static_cast<double>(r.bound_ns);
        if (!inside) {
            ++all_out;
            double since_ms = NAN;
            for (const auto& st : steps) {
                if (st.realtime_ns <= r.real_ns) since_ms = (r.real_ns - st.realtime_ns) / 1e6;
            }
            if (printed++ < 20) {
                std::printf(
                    "miss: client status %d, segment status %d, %.3f ms after the host's "
                    "latest disruption, truth %.0f ns, bound %lld ns\n",
                    r.status, r.segment_status, since_ms, *truth,
                    static_cast<long long>(r.bound_ns));
            }
        }
        if (r.status == VMR_CB_STATUS_SYNCHRONIZED) {
            ++sync;
            if (!inside) ++sync_out;
            worst_sync_margin_ns =
                std::min(worst_sync_margin_ns, static_cast<double>(r.bound_ns) - std::abs(*truth));
        }
    }
    const uint64_t judged = reads.size() - ambiguous - no_truth;
    const double inside_fraction =
        judged ? 1.0 - static_cast<double>(all_out) / static_cast<double>(judged) : 0;
    std::printf(
        "reads %zu (judged %llu, ambiguous %llu, no truth %llu); synchronized %llu, truth "
        "outside in %llu of them (smallest margin %.0f ns); truth inside in %.5f %% of all "
        "(%llu outside); %llu reads with no bound (the page's marker ahead of the segment)\n",
        reads.size(), static_cast<unsigned long long>(judged),
        static_cast<unsigned long long>(ambiguous), static_cast<unsigned long long>(no_truth),
        static_cast<unsigned long long>(sync), static_cast<unsigned long long>(sync_out),
        worst_sync_margin_ns, 100 * inside_fraction, static_cast<unsigned long long>(all_out),
        static_cast<unsigned long long>(unbounded));
    EXPECT_GE(reads.size(), 100'000u);
    EXPECT_GT(sync, reads.size() / 2);
    EXPECT_EQ(sync_out, 0u);
    EXPECT_GE(inside_fraction, 0.9999);

    // Each disruption against the moment the simulator wrote it: the segment was still
    // Synchronized at `still` (a read that began then saw it), and had left by `left`
    // (a read that ended then saw it). `still` does not depend on the reader being on
    // time, so it is what is asserted.
    for (const auto& step : steps) {
        const int64_t written = step.disruption_mono_ns;
        ASSERT_GT(written, 0) << "the simulator records when it wrote the disruption";
        std::optional<int64_t> still, left, back;
        for (const auto& r : reads) {
            if (r.segment_status < 0 || r.segment_mono_after_ns < written) continue;
            const bool synchronized = r.segment_status == VMR_CB_STATUS_SYNCHRONIZED;
            if (!left && synchronized) still = r.segment_mono_before_ns;
            if (!left && !synchronized) left = r.segment_mono_after_ns;
            if (left && !back && synchronized) back = r.segment_mono_before_ns;
        }
        ASSERT_TRUE(left) << "the segment never left Synchronized after the step";
        auto ms = [&](int64_t t) { return static_cast<double>(t - written) / 1e6; };
        const double still_ms = still ? std::max(0.0, ms(*still)) : 0.0;
        std::printf(
            "disruption (%+.3f ms offset): after the host's write the segment left "
            "Synchronized between %.3f ms%s and %.3f ms; Synchronized again after %.2f s\n",
            step.offset_ns / 1e6, still_ms, still && *still >= written ? "" : " (no read between)",
            ms(*left), back ? ms(*back) / 1e3 : NAN);
        if (notifications) {
            EXPECT_LE(still_ms, 1.0);
        } else {
            EXPECT_LE(still_ms, kPollNs / 1e6);
        }
    }

    // The median bound on the clean page: from 5 s after the first Synchronized read to
    // the first disruption.
    std::vector<int64_t> clean;
    std::optional<int64_t> first_sync;
    for (const auto& r : reads) {
        if (!first_sync && r.status == VMR_CB_STATUS_SYNCHRONIZED) first_sync = r.real_ns;
        if (first_sync && r.real_ns > *first_sync + 5'000'000'000 &&
            r.real_ns < steps[0].realtime_ns) {
            clean.push_back(r.bound_ns);
        }
    }
    ASSERT_GT(clean.size(), 1000u);
    std::sort(clean.begin(), clean.end());
    const int64_t median = clean[clean.size() / 2];
    std::printf(
        "clean page (host maxerror 0): median bound %lld ns over %zu reads "
        "(10 %% %lld ns, 90 %% %lld ns)\n",
        static_cast<long long>(median), clean.size(),
        static_cast<long long>(clean[clean.size() / 10]),
        static_cast<long long>(clean[clean.size() * 9 / 10]));
    EXPECT_LE(median, 1000);
    if (notifications) {
        EXPECT_NE(daemon.log().find("notifies updates"), std::string::npos) << daemon.log();
    }
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

TEST(ClockBound, LiveBoundsHoldThroughDisruptionsAtPolls) {
    live_run(false);
}

TEST(ClockBound, LiveBoundsHoldThroughDisruptionsWithNotifications) {
    live_run(true);
}

// A daemon restart: a client keeps its mapping and reads on (warm restart), and a second
// daemon on the same path is refused while the first runs.
TEST(ClockBound, WarmRestartAndOneWriterPerPath) {
    TempDir dir;
    const std::string page = dir.file("vmclock0"), shm = dir.file("shm0");
    auto sim = start_vmclock_sim(dir, page, dir.file("truth"), 0, 0);
    Chrony chrony(dir, kChronyPoll);
    const std::string extra = "[clockbound]\nenabled = true\npath = \"" + shm + "\"\n";
    write_file(dir.file("a.toml"),
               vmclock_daemon_config(page, chrony, kChronyPoll, dir.file("a.sock"), extra));
    write_file(dir.file("b.toml"),
               vmclock_daemon_config(page, chrony, kChronyPoll, dir.file("b.sock"), extra));
    auto first = std::make_unique<Process>(
        std::vector<std::string>{bin_dir() + "/vmrefclockd", "-c", dir.file("a.toml")},
        dir.file("a.log"));
    vmr_cb_client* client = nullptr;
    ASSERT_TRUE(wait_until(
        [&] {
            int error = 0;
            if (!client) client = vmr_cb_open(shm.c_str(), page.c_str(), &error);
            vmr_cb_now_result r{};
            return client && vmr_cb_now(client, &r) == VMR_CB_OK &&
                   r.status == VMR_CB_STATUS_SYNCHRONIZED;
        },
        10s, 50ms))
        << first->log();
    EXPECT_NE(first->log().find("new segment"), std::string::npos) << first->log();

    // A second writer on the same path fails at start-up, naming the path.
    Process second({bin_dir() + "/vmrefclockd", "-c", dir.file("b.toml")}, dir.file("b.log"));
    ASSERT_TRUE(wait_until([&] { return !second.running(); }, 5s)) << second.log();
    EXPECT_NE(second.stop(), 0);
    EXPECT_NE(second.log().find("locked by another writer"), std::string::npos) << second.log();
    EXPECT_NE(second.log().find(shm), std::string::npos) << second.log();

    // Restart: the old segment is reused and the same client mapping reads on.
    const uint16_t generation = reference_read(shm).segment->generation;
    EXPECT_EQ(first->stop(), 0) << first->log();
    first.reset();
    vmr_cb_now_result r{};
    ASSERT_EQ(vmr_cb_now(client, &r), VMR_CB_OK);
    EXPECT_EQ(r.status, VMR_CB_STATUS_SYNCHRONIZED) << "within ClockBound's 5-s grace";
    Process restarted({bin_dir() + "/vmrefclockd", "-c", dir.file("a.toml")}, dir.file("a2.log"));
    ASSERT_TRUE(wait_until(
        [&] {
            auto s = reference_read(shm).segment;
            return s && s->generation != generation && s->clock_status == 1;
        },
        10s, 50ms))
        << restarted.log();
    EXPECT_NE(restarted.log().find("warm restart"), std::string::npos) << restarted.log();
    ASSERT_EQ(vmr_cb_now(client, &r), VMR_CB_OK);
    EXPECT_EQ(r.status, VMR_CB_STATUS_SYNCHRONIZED);
    EXPECT_LT(r.bound_ns, 1'000'000);
    vmr_cb_close(client);
    EXPECT_EQ(restarted.stop(), 0) << restarted.log();
}

}  // namespace
}  // namespace vmrefclock::test

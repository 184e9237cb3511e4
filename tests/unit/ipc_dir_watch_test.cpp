// DirectoryWatch on a real loop: entries appearing and vanishing, and a directory that
// does not exist yet, or is removed and comes back.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ipc/sys/dir_watch.h"
#include "ipc/sys/event_loop.h"
#include "tests/support/temp_dir.h"

namespace vmrefclock {
namespace {

// Runs the loop until `done` says so or 2 s pass.
void run_until(EventLoop& loop, const std::function<bool()>& done) {
    Timer check(loop, [&] {
        if (done()) loop.stop();
    });
    check.arm(10'000'000, 10'000'000);
    Timer limit(loop, [&] { loop.stop(); });
    limit.arm(2'000'000'000, 0);
    ASSERT_TRUE(loop.run().ok());
}

bool seen(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(DirectoryWatch, EntriesAppearingAndVanishing) {
    test::TempDir tmp("vmr-watch");
    EventLoop loop;
    std::vector<std::string> names;
    auto watch =
        DirectoryWatch::create(loop, tmp.path(), [&](const std::string& n) { names.push_back(n); });
    ASSERT_TRUE(watch) << watch.error().message;
    EXPECT_TRUE((*watch)->watching_dir());
    std::ofstream(tmp.file("sock")) << "x";
    run_until(loop, [&] { return seen(names, "sock"); });
    EXPECT_TRUE(seen(names, "sock"));
    names.clear();
    std::filesystem::remove(tmp.file("sock"));
    run_until(loop, [&] { return seen(names, "sock"); });
    EXPECT_TRUE(seen(names, "sock"));
}

TEST(DirectoryWatch, DirectoryThatAppearsLaterAndComesBack) {
    test::TempDir tmp("vmr-watch");
    const std::string dir = tmp.file("run/chrony");
    EventLoop loop;
    std::vector<std::string> names;
    auto watch =
        DirectoryWatch::create(loop, dir, [&](const std::string& n) { names.push_back(n); });
    ASSERT_TRUE(watch) << watch.error().message;
    EXPECT_FALSE((*watch)->watching_dir());
    std::filesystem::create_directories(dir);
    run_until(loop, [&] { return (*watch)->watching_dir(); });
    EXPECT_TRUE((*watch)->watching_dir());
    EXPECT_TRUE(seen(names, ""));
    std::ofstream(dir + "/vmrefclock.sock") << "x";
    run_until(loop, [&] { return seen(names, "vmrefclock.sock"); });
    EXPECT_TRUE(seen(names, "vmrefclock.sock"));

    // Removed: the watch waits for it again, and sees it come back.
    std::filesystem::remove_all(tmp.file("run"));
    run_until(loop, [&] { return !(*watch)->watching_dir(); });
    EXPECT_FALSE((*watch)->watching_dir());
    std::filesystem::create_directories(dir);
    names.clear();
    std::ofstream(dir + "/vmrefclock.sock") << "x";
    run_until(loop, [&] { return seen(names, "vmrefclock.sock"); });
    EXPECT_TRUE((*watch)->watching_dir());
    EXPECT_TRUE(seen(names, "vmrefclock.sock") || seen(names, ""));
}

}  // namespace
}  // namespace vmrefclock

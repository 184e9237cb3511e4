// The system helpers written once: a unix socket address that refuses what does not fit
// (never truncates), and starting a program.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "ipc/sys/process.h"
#include "ipc/sys/unix_address.h"

namespace vmrefclock {
namespace {

TEST(UnixAddress, APathThatFitsIsCopiedWhole) {
    const std::string path = "/run/chrony/" + std::string(kMaxUnixPathBytes - 12, 'x');
    ASSERT_EQ(path.size(), 107u);
    auto addr = unix_address(path);
    ASSERT_TRUE(addr) << addr.error().message;
    EXPECT_EQ(addr->address.sun_family, AF_UNIX);
    EXPECT_EQ(std::string(addr->address.sun_path), path);
    EXPECT_EQ(addr->size(), sizeof(sockaddr_un));
}

TEST(UnixAddress, A200BytePathIsRefusedNamingIt) {
    const std::string path = "/tmp/" + std::string(195, 'a');
    ASSERT_EQ(path.size(), 200u);
    auto addr = unix_address(path);
    ASSERT_FALSE(addr);
    EXPECT_EQ(addr.error().code, ENAMETOOLONG);
    EXPECT_EQ(addr.error().message,
              "unix socket path \"" + path + "\" is 200 bytes; at most 107 fit in sun_path");
    // One byte over is refused too: sun_path needs its NUL.
    EXPECT_FALSE(unix_address("/" + std::string(107, 'b')));
}

TEST(UnixAddress, EmptyAndNulPathsAreRefused) {
    EXPECT_EQ(unix_address("").error().message, "empty unix socket path");
    auto nul = unix_address(std::string("/tmp/a\0b", 8));
    ASSERT_FALSE(nul);
    EXPECT_NE(nul.error().message.find("NUL"), std::string::npos) << nul.error().message;
}

TEST(Spawn, AMissingProgramIsNamedWithTheCause) {
    auto spawned = spawn_process({"no-such-program-vmr"});
    ASSERT_FALSE(spawned);
    EXPECT_EQ(spawned.error().code, ENOENT);
    EXPECT_EQ(spawned.error().message, "cannot run no-such-program-vmr: No such file or directory");
    auto by_path = spawn_process({"/nonexistent/chronyc"});
    ASSERT_FALSE(by_path);
    EXPECT_EQ(by_path.error().message,
              "cannot run /nonexistent/chronyc: No such file or directory");
    EXPECT_FALSE(spawn_process({}));

    const ProgramOutput out = run_program({"no-such-program-vmr", "--version"});
    EXPECT_EQ(out.exit_status, -1);
    EXPECT_EQ(out.output, "cannot run no-such-program-vmr: No such file or directory");
}

TEST(Spawn, OutputAndExitStatusComeBackTogether) {
    const ProgramOutput out = run_program({"sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(out.exit_status, 3);
    EXPECT_EQ(out.output, "out\nerr\n");
    // stdin is /dev/null: a program reading it ends at once.
    EXPECT_EQ(run_program({"cat"}).exit_status, 0);
}

TEST(Spawn, AProgramPastItsTimeIsKilled) {
    const auto start = std::chrono::steady_clock::now();
    const ProgramOutput out = run_program({"sh", "-c", "echo started; exec sleep 30"}, 300);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(out.exit_status, -1);
    EXPECT_EQ(out.output, "started\n");
    EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(Spawn, TheProgramStartsWithSignalsUnblockedInItsOwnGroupWhenAsked) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    auto spawned = spawn_process({"sh", "-c", "grep SigBlk /proc/self/status; ps -o pgid= -p $$"},
                                 {.own_process_group = true});
    sigprocmask(SIG_SETMASK, &old, nullptr);
    ASSERT_TRUE(spawned) << spawned.error().message;
    std::string output;
    char buf[256];
    for (ssize_t n; (n = read(spawned->output_fd, buf, sizeof buf)) > 0;) output.append(buf, n);
    close(spawned->output_fd);
    int status = 0;
    ASSERT_EQ(waitpid(spawned->pid, &status, 0), spawned->pid);
    EXPECT_NE(output.find("SigBlk:\t0000000000000000"), std::string::npos) << output;
    EXPECT_NE(output.find(std::to_string(spawned->pid)), std::string::npos) << output;
}

}  // namespace
}  // namespace vmrefclock

#include "ipc/sys/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace vmrefclock {

Result<SpawnedProcess> spawn_process(const std::vector<std::string>& argv,
                                     const SpawnOptions& options) {
    if (argv.empty() || argv[0].empty()) return make_error("cannot run an empty command", EINVAL);
    int pipe_fds[2];
    // Only our end may be non-blocking: the child's stdout stays an ordinary pipe.
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return errno_error("pipe2", errno);
    const int read_fd = pipe_fds[0];
    const int write_fd = pipe_fds[1];
    if (options.nonblocking_output) fcntl(read_fd, F_SETFL, fcntl(read_fd, F_GETFL) | O_NONBLOCK);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, write_fd, 2);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (options.own_process_group) {
        posix_spawnattr_setpgroup(&attr, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    posix_spawnattr_setflags(&attr, flags);

    std::vector<std::string> args = argv;
    std::vector<char*> c_args;
    for (auto& a : args) c_args.push_back(a.data());
    c_args.push_back(nullptr);

    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, c_args[0], &actions, &attr, c_args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(write_fd);
    if (rc != 0) {
        close(read_fd);
        return errno_error("cannot run " + argv[0], rc);
    }
    return SpawnedProcess{pid, read_fd};
}

ProgramOutput run_program(const std::vector<std::string>& argv, int timeout_ms) {
    ProgramOutput result;
    auto spawned = spawn_process(argv);
    if (!spawned) {
        result.output = spawned.error().message;
        return result;
    }
    const pid_t pid = spawned->pid;
    const int out = spawned->output_fd;
    // chronyc waits for an unresponsive chronyd for a long time: bound it.
    bool ended = false;
    for (int waited_ms = 0; waited_ms < timeout_ms;) {
        pollfd p{out, POLLIN, 0};
        const int ready = poll(&p, 1, 100);
        if (ready == 0) {
            waited_ms += 100;
            continue;
        }
        if (ready < 0 && errno == EINTR) continue;
        char buf[4096];
        const ssize_t n = ready < 0 ? -1 : read(out, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ended = true;
            break;
        }
        result.output.append(buf, static_cast<size_t>(n));
    }
    close(out);
    if (!ended) kill(pid, SIGKILL);
    int status = 0;
    // End of output comes a moment before the exit can be reaped: wait up to 1 s more.
    pid_t done = 0;
    for (int i = 0; i < 100 && (done = waitpid(pid, &status, WNOHANG)) == 0; ++i) usleep(10'000);
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        status = -1;
    }
    result.exit_status = done > 0 && status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

}  // namespace vmrefclock

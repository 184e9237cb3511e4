// Running another program (chronyc): one way to start it, for the daemon's event loop
// (chrony control) and for the command-line checks (doctor, the chronyc probe).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "filter/result.h"

namespace vmrefclock {

struct SpawnOptions {
    // Its own process group, so that a timeout can kill whatever it started too.
    bool own_process_group = false;
    bool nonblocking_output = false;  // the read end, for an event loop
};

struct SpawnedProcess {
    pid_t pid = -1;      // the caller reaps it
    int output_fd = -1;  // stdout and stderr together; close-on-exec; the caller closes it
};

// Starts argv[0] (a name is looked up in PATH, a path is used as it is) with stdin from
// /dev/null, no signal blocked and every signal at its default: the daemon blocks
// signals for its signalfd and ignores SIGPIPE, and neither may reach the program.
// Errors name the program: "cannot run chronyc: No such file or directory".
Result<SpawnedProcess> spawn_process(const std::vector<std::string>& argv,
                                     const SpawnOptions& options = {});

struct ProgramOutput {
    int exit_status = -1;  // -1: could not run (the output says why) or killed
    std::string output;
};

// Runs argv to its end, with a time limit (then it is killed): its exit status and its
// stdout and stderr together.
ProgramOutput run_program(const std::vector<std::string>& argv, int timeout_ms = 10'000);

}  // namespace vmrefclock

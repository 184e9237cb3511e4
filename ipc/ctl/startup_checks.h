// What startup checks beyond the configuration file's own content, shared by
// `vmrefclockd --check-config`, startup and `vmrefclockctl doctor` so they never
// disagree: the group named in the config exists, chronyc is there and runnable, and the
// poll interval gives chrony enough samples. Here in ipc/ctl, not daemon/, so that the
// ctl needs nothing from the daemon.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace vmrefclock {

struct ChronycInfo {
    std::string program;  // as configured
    std::string path;     // where it was found; "" when not found or not executable
    std::string problem;  // why it cannot be run ("" = it can)
    std::string version;  // "4.3", "4.8"; "" = unknown
    // chronyc has -u (4.8+): started as root it drops to its configured chronyc user
    // unless told "-u root".
    bool has_user_option = false;
};

// Finds `program` as posix_spawnp would (a name through PATH, a path as it is) and asks
// it for its version and options (`--version`, `--help`, 2 s each).
ChronycInfo probe_chronyc(const std::string& program);

// The options that go before chronyc's "-h <socket> <command>" when this process runs
// it: "-u root" for a root process and a chronyc that would otherwise drop root to its
// own user (which may not reach chronyd's command socket, e.g. a chronyd running as
// root, or one whose socket directory belongs to another user). Nothing otherwise:
// a non-root chronyc never changes user.
std::vector<std::string> chronyc_options(const ChronycInfo& info, bool running_as_root);

// chrony's version as "major.minor" -> comparable number (4.3 -> 403); -1 if unknown.
int chrony_version_number(const std::string& version);

struct StartupCheck {
    std::vector<std::string> errors;    // startup refuses to run
    std::vector<std::string> warnings;  // startup runs and logs them
    ChronycInfo chronyc;
};

StartupCheck check_startup(const Config& config);

}  // namespace vmrefclock

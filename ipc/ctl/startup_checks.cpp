#include "ipc/ctl/startup_checks.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "ipc/sys/process.h"

namespace vmrefclock {

namespace {

constexpr int kProbeTimeoutMs = 2000;
// chrony before 4.7 counts a refclock poll with fewer than 4 samples as unreachable;
// twice that leaves room for a lost or rejected sample.
constexpr double kSamplesWanted = 8;
constexpr double kSamplesNeededBefore47 = 4;
// The config's own limits ([source] interval, [chrony] poll).
constexpr double kMinIntervalS = 0.05;
constexpr int kMaxPoll = 8;

std::string executable_problem(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return path + " does not exist";
    if (!S_ISREG(st.st_mode)) return path + " is not a regular file";
    if (access(path.c_str(), X_OK) != 0) return path + " is not executable";
    return "";
}

std::string format_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

std::string format_seconds(double s) {
    return format_number(s) + " s";
}

}  // namespace

ChronycInfo probe_chronyc(const std::string& program) {
    ChronycInfo info;
    info.program = program;
    if (program.find('/') != std::string::npos) {
        info.problem = executable_problem(program);
        if (info.problem.empty()) info.path = program;
    } else {
        // posix_spawnp's search: PATH, or its default when PATH is unset.
        const char* env = std::getenv("PATH");
        std::istringstream dirs(env && *env ? env : "/bin:/usr/bin");
        for (std::string dir; std::getline(dirs, dir, ':');) {
            const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
            if (executable_problem(candidate).empty()) {
                info.path = candidate;
                break;
            }
        }
        if (info.path.empty()) {
            info.problem = "no executable \"" + program + "\" in PATH (" +
                           (env && *env ? std::string(env) : std::string("/bin:/usr/bin")) + ")";
        }
    }
    if (info.path.empty()) return info;
    const ProgramOutput version = run_program({info.path, "--version"}, kProbeTimeoutMs);
    std::smatch m;
    if (std::regex_search(version.output, m, std::regex(R"(version (\d+\.\d+))"))) {
        info.version = m[1];
    }
    const ProgramOutput help = run_program({info.path, "--help"}, kProbeTimeoutMs);
    info.has_user_option = help.output.find("-u USER") != std::string::npos;
    return info;
}

std::vector<std::string> chronyc_options(const ChronycInfo& info, bool running_as_root) {
    if (running_as_root && info.has_user_option) return {"-u", "root"};
    return {};
}

int chrony_version_number(const std::string& version) {
    int major = 0, minor = 0;
    if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) return -1;
    return major * 100 + minor;
}

StartupCheck check_startup(const Config& config) {
    StartupCheck check;
    if (!config.status.group.empty() && !config.status.socket.empty()) {
        if (getgrnam(config.status.group.c_str()) == nullptr) {
            check.errors.push_back("[status] group \"" + config.status.group +
                                   "\": no such group (create it, or set group = \"\" for the "
                                   "daemon's own group)");
        }
    }
    check.chronyc = probe_chronyc(config.chrony.chronyc);
    if (!config.chrony.control_socket.empty() && !check.chronyc.problem.empty()) {
        check.errors.push_back("[chrony] chronyc \"" + config.chrony.chronyc +
                               "\" cannot be run: " + check.chronyc.problem +
                               " (it resets chrony after a disruption; set control_socket = "
                               "\"\" to never reset chrony)");
    }

    // Samples per chrony poll: chrony before 4.7 needs 4 in each, or the refclock
    // counts as unreachable for that poll.
    const double chrony_poll_s = std::ldexp(1.0, config.chrony.poll);
    const double per_poll = chrony_poll_s / config.source.interval_s;
    const int version = chrony_version_number(check.chronyc.version);
    const std::string have =
        "[source] interval = " + format_seconds(config.source.interval_s) + " gives " +
        format_number(per_poll) +
        " sample(s) per chrony poll ([chrony] poll = " + std::to_string(config.chrony.poll) + ", " +
        format_seconds(chrony_poll_s) + ")";
    // What would give 8 samples a poll: a shorter interval, a longer poll, or both.
    const double max_interval = chrony_poll_s / kSamplesWanted;
    const int min_poll =
        static_cast<int>(std::ceil(std::log2(kSamplesWanted * config.source.interval_s)));
    std::string fix;
    if (max_interval >= kMinIntervalS)
        fix = "set interval to at most " + format_seconds(max_interval);
    if (min_poll <= kMaxPoll) {
        fix += (fix.empty() ? "set" : ", or") + std::string(" poll to at least ") +
               std::to_string(min_poll) + " here and in chrony.conf";
    }
    if (fix.empty()) fix = "shorten interval and raise poll";
    if (version >= 407) {
        if (per_poll < 1) {
            check.warnings.push_back(have + ": chrony " + check.chronyc.version +
                                     " gets no sample in some polls; " + fix);
        }
    } else if (per_poll < kSamplesWanted) {
        const std::string which = version < 0 ? std::string("chrony (version unknown; before 4.7")
                                              : "chrony " + check.chronyc.version + " (before 4.7";
        check.warnings.push_back(
            have + ": " + which + " a poll with fewer than 4 samples counts as unreachable)" +
            (per_poll < kSamplesNeededBefore47 ? ", so chrony will never use the refclock; "
                                               : ", which leaves no margin; ") +
            fix);
    }
    return check;
}

}  // namespace vmrefclock

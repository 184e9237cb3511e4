// `vmrefclockctl doctor`: checks the chain from the host clock to chrony, one link at a
// time, each with pass/fail, what was seen and how to fix it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "ipc/sys/process.h"

namespace vmrefclock {

struct DoctorCheck {
    std::string name;
    bool passed = false;
    std::string detail;  // what was seen
    std::string hint;    // how to fix it (failures only)
};

struct DoctorOptions {
    std::string config_path = "/etc/vmrefclock/vmrefclockd.toml";
    std::string chrony_conf = "/etc/chrony/chrony.conf";
    std::string status_socket;  // "" = the one the config names
    // The user the service runs as, and the groups the unit adds: access checks are
    // made for that user, not for whoever runs doctor (usually root).
    std::string service_user = "vmrefclock";
    std::vector<std::string> service_extra_groups;
    // The shipped unit grants CAP_DAC_OVERRIDE (chronyd's sockets need it): file modes
    // then do not stop the service, and a mode problem is noted, not failed.
    bool service_dac_override = true;
    // The time-source check; replaceable in tests. Default: doctor_source_check
    // (source_check.h), the source the daemon would choose and its readability.
    std::function<DoctorCheck(const Config&)> check_source;
    // What startup would refuse beyond the file's syntax (a missing group, chronyc):
    // errors fail "config valid"; entries starting "warning: " are shown only.
    std::function<std::vector<std::string>(const Config&)> check_startup;
    // Options before chronyc's "-h" for the program the config names (e.g. "-u root" for
    // a chronyc that would drop root); none when unset.
    std::function<std::vector<std::string>(const std::string& chronyc)> chronyc_options;
    // Runs a program (argv) with a time limit; replaceable in tests.
    std::function<ProgramOutput(const std::vector<std::string>&)> run;
};

// Every check, in chain order. The exit code of `doctor` is the number of failures.
std::vector<DoctorCheck> run_doctor(const DoctorOptions& options);
std::string render_doctor(const std::vector<DoctorCheck>& checks);

// The chrony.conf line matching a configuration.
std::string chrony_refclock_line(const Config& config);

// Whether `user` (with `extra_groups`) may reach `path` with `mode` (R_OK/W_OK): the
// file's bits and search permission on every directory above it. Root may do anything.
// Returns "" when allowed, else why not.
std::string access_problem(const std::string& user, const std::vector<std::string>& extra_groups,
                           const std::string& path, int mode);

}  // namespace vmrefclock

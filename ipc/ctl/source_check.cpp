#include "ipc/ctl/source_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include "sources/registry.h"
#include "sources/source_plan.h"

namespace vmrefclock {

namespace {

constexpr const char* kCheckName = "time source present and readable";

// A clock device the plan found: may the service's user read it?
DoctorCheck device_check(const std::string& path, SourceKind kind, const DoctorOptions& options) {
    DoctorCheck c{kCheckName, false, "", ""};
    std::string problem =
        access_problem(options.service_user, options.service_extra_groups, path, R_OK);
    c.detail = path + " (" + std::string(source_kind_name(kind)) + ")";
    if (!problem.empty() && !options.service_dac_override) {
        c.detail = problem;
        c.hint = "install the udev rule 60-vmrefclock.rules and run: udevadm trigger";
        return c;
    }
    if (!problem.empty()) c.detail += "; readable only through CAP_DAC_OVERRIDE: " + problem;
    c.passed = true;
    return c;
}

}  // namespace

DoctorCheck doctor_source_check(const Config& config, const DoctorOptions& options) {
    DoctorCheck c{kCheckName, false, "", ""};
    const SourcePlan plan = plan_sources(config);
    const std::string why = plan.configured.empty() ? plan.reason : plan.configured;
    if (!plan.usable()) {
        const std::string& problem = plan.problem.empty() ? plan.signal_problem : plan.problem;
        c.detail =
            plan.type ? plan.time_source_text() + ": " + problem + " (" + why + ")" : plan.reason;
        c.hint = source_kind_entry(plan.type.value_or(SourceKind::automatic)).missing_hint;
        return c;
    }
    struct stat st {};
    if (stat(plan.path.c_str(), &st) == 0 && S_ISCHR(st.st_mode)) {
        c = device_check(plan.path, *plan.type, options);
        if (c.passed) c.detail = plan.time_source_text() + " (" + why + ")";
        return c;
    }
    c.passed = true;
    c.detail = plan.time_source_text() + " (" + why + ")";
    return c;
}

}  // namespace vmrefclock

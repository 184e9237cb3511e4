// doctor's "time source present and readable": the source vmrefclockd would choose from
// this config (discovery, or the one the config names; sources/registry.h), and whether
// the service's user may read it.
#pragma once

#include "config/config.h"
#include "ipc/ctl/doctor.h"

namespace vmrefclock {

// The default DoctorOptions::check_source.
DoctorCheck doctor_source_check(const Config& config, const DoctorOptions& options);

}  // namespace vmrefclock

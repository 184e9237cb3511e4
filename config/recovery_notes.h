// What `vmrefclockd --check-config` says about recovery: settings with which chrony
// cannot be within 1 us of the new time within 3 refclock polls of a disruption (12 s at
// poll 2), each with what was measured or why.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace vmrefclock {

// One line per setting that misses the goal; empty when none does.
std::vector<std::string> recovery_notes(const Config& config);

}  // namespace vmrefclock

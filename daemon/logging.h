// spdlog set-up: journald when started by systemd, stderr otherwise.
#pragma once

#include <string>

#include "filter/result.h"

namespace vmrefclock {

// True when stderr is connected to the journal (systemd sets JOURNAL_STREAM to its
// device:inode), the documented way to tell.
bool stderr_is_journal();
Status setup_logging(const std::string& level);
Status set_log_level(const std::string& level);

}  // namespace vmrefclock

// vmrefclockd's configuration: the TOML schema, parsed and validated in one place.
#pragma once

#include <string>
#include <string_view>

#include "filter/result.h"

namespace vmrefclock {

struct SourceConfig {
    std::string type = "vmclock";  // "vmclock" (later "ptp", "auto")
    std::string path = "/dev/vmclock0";
    // 0.5 s polls give chrony 8 samples per 4-s poll: chrony before 4.7 counts a poll
    // with fewer than 4 as unreachable, so the default keeps a 2x margin.
    double interval_s = 0.5;
    int readings = 10;
};

struct ChronyConfig {
    std::string socket = "/run/chrony/vmrefclock.sock";
    std::string control_socket = "/run/chrony/chronyd.sock";  // "" = never reset chrony
    int poll = 2;  // the refclock's poll in chrony (log2 s), for hold-off timing
    std::string chronyc = "chronyc";  // program used for "reset sources"
};

struct LogConfig {
    std::string level = "info";
};

struct Config {
    SourceConfig source;
    ChronyConfig chrony;
    LogConfig log;
};

// Parses TOML text; `origin` names it in errors. Unknown keys, wrong types and
// out-of-range values are errors naming the key.
Result<Config> parse_config(std::string_view toml_text, std::string_view origin);
Result<Config> load_config(const std::string& path);

}  // namespace vmrefclock

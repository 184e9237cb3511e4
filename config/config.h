// vmrefclockd's configuration: one struct per TOML table, each member's default here.
// How a member is read, checked and documented is its entry in config_keys.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/source_kind.h"
#include "filter/result.h"

namespace vmrefclock {

struct SourceConfig {
    // auto: discover (a vmclock or KVM PHC, else a full vmclock page); ptp; vmclock.
    SourceKind type = SourceKind::automatic;
    // The device; "" = the type's standard one (ptp: the discovered PHC; vmclock:
    // /dev/vmclock0). Ignored with "auto".
    std::string path;
    std::string method = "auto";  // PHC read method: auto|precise|extended|basic
    // 0.5 s polls give chrony 8 samples per 4-s poll: chrony before 4.7 counts a poll
    // with fewer than 4 as unreachable, so the default keeps a 2x margin.
    double interval_s = 0.5;
    int readings = 10;
    // PHCs other than vmclock's and KVM's (a NIC's) are used only when named here, by
    // clock_name, "ptpN" or device path.
    std::vector<std::string> allow_phc;
    // Record every poll's raw readings to this file (filter/batch_trace.h), for replay in
    // the clock lab; "" = off. At record_max_mb the file is renamed to <record>.1 (the
    // previous .1 is dropped), so at most twice that is on disk.
    std::string record;
    int record_max_mb = 64;
    std::string sysfs_root = "/sys";  // moved only by tests
    std::string dev_root = "/dev";
};

// How disruptions are noticed besides the time source's own vmclock page.
struct DisruptionConfig {
    // A vmclock page read beside a PHC for its disruption marker; "" = none.
    std::string vmclock = "/dev/vmclock0";
    // A FIFO that stands in for the vmclock device's readability (vmclock-sim
    // --notify-fifo), used when the page sets NOTIFICATION_PRESENT; "" = the device's
    // own fd. Moved only by tests: a page file is always "readable".
    std::string notify_fifo;
    // Detectors that find disruptions in the data, beside every source.
    bool step = true;
    double step_floor_us = 250;
    double step_sigma = 6.0;
    // A step with no marker change is followed only after it has held this long.
    double step_probation_s = 30;
    bool suspend = true;
    double suspend_threshold_ms = 1;
    bool frequency = true;
    double frequency_bound_ppm = 50;
};

struct ChronyConfig {
    std::string socket = "/run/chrony/vmrefclock.sock";
    std::string control_socket = "/run/chrony/chronyd.sock";  // "" = never reset chrony
    int poll = 2;                     // the refclock's poll in chrony (log2 s), for recovery timing
    std::string chronyc = "chronyc";  // program used for "reset sources"
};

struct StatusConfig {
    std::string socket = "/run/vmrefclock/status.sock";  // "" = no status socket
    // Group whose members may connect (socket mode 0660) and ask for a reset; "" = the
    // daemon's own group.
    std::string group;
};

// The bounded-time segment for applications (AWS ClockBound's v2 format).
struct ClockBoundConfig {
    // Off by default: the standard path may belong to AWS's clockbound-d, which takes no
    // lock; vmrefclockd locks the file, so two vmrefclockd never share one.
    bool enabled = false;
    std::string path = "/var/run/clockbound/shm0";  // where ClockBound's clients look
};

struct LogConfig {
    std::string level = "info";
};

struct Config {
    SourceConfig source;
    ChronyConfig chrony;
    DisruptionConfig disruption;
    StatusConfig status;
    ClockBoundConfig clockbound;
    LogConfig log;
};

// Parses TOML text; `origin` names it in errors. Unknown keys, wrong types and
// out-of-range values are errors naming the key.
Result<Config> parse_config(std::string_view toml_text, std::string_view origin);
Result<Config> load_config(const std::string& path);

}  // namespace vmrefclock

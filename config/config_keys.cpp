// The table itself. A doc says what the key does and why one would change it; the
// accepted values and the default are added from the entry, so they are never restated.
// Docs are scdoc markup: *bold*, a backslash before a literal star.
#include "config/config_keys.h"

namespace vmrefclock {

namespace {

using R = StringRule;

std::vector<ConfigTable> build_schema() {
    std::vector<ConfigTable> schema;
    schema.push_back(config_table(
        "source", &Config::source, "Where the host's time comes from and how it is read.",
        {
            choice("type", &SourceConfig::type, source_kind_names(), parse_source_kind,
                   source_kind_name,
                   "\"auto\" finds the source: a PHC named vmclock\\*, else \"KVM virtual PTP\", "
                   "else a PHC named in *allow_phc*; with no PHC, a vmclock page that carries "
                   "time. A vmclock page beside a PHC is read for its disruption signal. "
                   "\"ptp\" reads a PTP hardware clock (/dev/ptpN) through the PTP_SYS_OFFSET\\* "
                   "ioctls; \"vmclock\" reads the hypervisor's vmclock page (Linux 6.13+), time "
                   "and disruption signal. *vmrefclockd --list-sources* shows what is found "
                   "and why."),
            text("path", &SourceConfig::path, R::kAbsolutePathOrEmpty,
                 "The device. \"\" is the type's standard one: for \"ptp\" the PHC discovery "
                 "prefers, for \"vmclock\" /dev/vmclock0. Ignored with \"auto\". A source that "
                 "is missing or cannot be opened does not stop the daemon: it stays up in state "
                 "no-source, says why, and takes the device when it appears."),
            choice("method", &SourceConfig::method, {"auto", "precise", "extended", "basic"},
                   "How a PHC is read. \"auto\" tries PTP_SYS_OFFSET_PRECISE, then "
                   "PTP_SYS_OFFSET_EXTENDED, "
                   "then the basic ioctl, and keeps the first that works; the others force one, "
                   "and a device that refuses it leaves the daemon in no-source. (ptp_kvm on x86 "
                   "offers \"precise\" only when the guest clocksource is kvm-clock.)"),
            number("interval", &SourceConfig::interval_s, 0.05, 60, " s",
                   "Seconds between polls of the source. chrony before 4.7 counts a refclock "
                   "poll with fewer than 4 samples as unreachable: keep *interval* at most "
                   "2^*poll* / 8 s there (0.5 s at poll 2 gives 8 samples, a 2x margin); startup "
                   "and *--check-config* warn when it is longer and chronyc reports a chrony "
                   "before 4.7 (or no version). chrony 4.7 and later take one sample per refclock "
                   "poll, so any interval up to 2^*poll* s works there. Applies at *SIGHUP*."),
            integer("readings", &SourceConfig::readings, 1, 100, "",
                    "Readings per poll, filtered into the one sample sent to chrony. More let "
                    "the filter discard reads that were delayed (a preempted vCPU), at a little "
                    "more CPU per poll."),
            text_list("allow_phc", &SourceConfig::allow_phc,
                      "PHCs other than vmclock's and KVM's (a NIC's, for example), used only when "
                      "named here, by sysfs clock_name, \"ptpN\" or device path."),
            text("sysfs_root", &SourceConfig::sysfs_root, R::kAbsolutePath,
                 "Where sysfs is. Only tests move it."),
            text("dev_root", &SourceConfig::dev_root, R::kAbsolutePath,
                 "Where the devices are. Only tests move it."),
            text("record", &SourceConfig::record, R::kAbsolutePathOrOff,
                 "Record every poll's raw readings (system time before and after, reference "
                 "time, the host's disruption marker and time_maxerror) to this file, one "
                 "reading per line in the CSV format of filter/batch_trace.h, to replay the "
                 "guest's own data in the clock lab (*scripts/bench --trace* FILE). \"\" is off. "
                 "An existing file is moved to FILE.1 at startup. A write error is logged and "
                 "recording retried at the next poll; it never stops the daemon. About 1 MB per "
                 "1500 polls of 10 readings. Under the packaged unit only /var/lib/vmrefclock "
                 "is writable."),
            integer("record_max_mb", &SourceConfig::record_max_mb, 1, 100'000, " MB",
                    "When the *record* file reaches this size it is moved to FILE.1, replacing "
                    "the previous one, and a new file is started: at most twice this is on "
                    "disk."),
        }));
    schema.push_back(config_table(
        "chrony", &Config::chrony,
        "How chronyd is reached. Its configuration needs the matching line, which "
        "*vmrefclockctl chrony-conf* prints:\n"
        "refclock SOCK /run/chrony/vmrefclock.sock refid VMCK poll 2 precision 1e-7",
        {
            text("socket", &ChronyConfig::socket, R::kSocketPath,
                 "chronyd's SOCK refclock socket, as in the refclock line. chronyd creates "
                 "it; vmrefclockd connects to it and reconnects when chronyd restarts."),
            text("control_socket", &ChronyConfig::control_socket, R::kSocketPathOrEmpty,
                 "chronyd's command socket, used to run *chronyc reset sources* after a clock "
                 "disruption (live migration, snapshot restore) so that chrony forgets the "
                 "measurements made before it. \"\" never resets chrony."),
            integer("poll", &ChronyConfig::poll, -4, 8, " (log2 s)",
                    "The refclock's poll in chrony.conf; keep it equal to the refclock line's. "
                    "After a start or a disruption vmrefclockd samples at least 8 times per "
                    "such poll (whatever *interval* says) until chrony has had the 3 polls it "
                    "needs to select the source again."),
            text("chronyc", &ChronyConfig::chronyc, R::kProgram,
                 "The program run with *-h* and the control_socket to reset chrony's sources; "
                 "it must exist and be executable when *control_socket* is set. A chronyc that "
                 "drops "
                 "root to its own user (4.8+, *-u*) is given *-u root* when the daemon runs as "
                 "root."),
        }));
    schema.push_back(config_table(
        "disruption", &Config::disruption,
        "How disruptions are noticed besides the time source's own vmclock page. The data "
        "detectors run beside every source, a vmclock page too: a KVM master-clock update or "
        "a page that lies steps the clock without changing the marker.",
        {
            text("vmclock", &DisruptionConfig::vmclock, R::kAbsolutePathOrEmpty,
                 "A vmclock page read beside a PHC for its disruption marker and VM generation "
                 "(QEMU, Firecracker and EC2 publish such marker-only pages), when it exists. "
                 "\"\" reads none."),
            text("notify_fifo", &DisruptionConfig::notify_fifo, R::kAbsolutePathOrEmpty,
                 "For tests only: a FIFO whose readability stands in for the vmclock device's "
                 "when the page sets NOTIFICATION_PRESENT (vmclock-sim *--notify-fifo*). \"\" is "
                 "the device itself: with a real /dev/vmclock0 that sets the flag, a disruption "
                 "is acted on when the host publishes it, not at the next poll."),
            flag("step", &DisruptionConfig::step,
                 "Detect an offset step far outside the model's prediction (beyond both "
                 "*step_sigma* residual deviations and *step_floor_us*), confirmed by the next "
                 "poll."),
            number("step_floor_us", &DisruptionConfig::step_floor_us, 10, 1e6, " us",
                   "The smallest offset step, in microseconds, the *step* detector counts."),
            number("step_sigma", &DisruptionConfig::step_sigma, 3, 100, "",
                   "How many residual deviations from the prediction an offset step must "
                   "exceed for the *step* detector."),
            number("step_probation", &DisruptionConfig::step_probation_s, 0, 86'400, " s",
                   "A step that no marker change announced is a disruption, but the new clock "
                   "is fed to chrony only once it has held this long. A clock that comes back "
                   "to where it was (a page that lied for a while) is fed again at once, and "
                   "nothing of the step reached chrony. A marker change or *vmrefclockctl "
                   "reset* ends the wait."),
            flag("suspend", &DisruptionConfig::suspend,
                 "Detect a guest suspend: a jump of CLOCK_BOOTTIME minus CLOCK_MONOTONIC "
                 "beyond *suspend_threshold_ms*."),
            number("suspend_threshold_ms", &DisruptionConfig::suspend_threshold_ms, 0.1, 60'000,
                   " ms", "The smallest jump, in milliseconds, the *suspend* detector counts."),
            flag("frequency", &DisruptionConfig::frequency,
                 "Detect a frequency change beyond *frequency_bound_ppm*, confirmed over two "
                 "polls."),
            number("frequency_bound_ppm", &DisruptionConfig::frequency_bound_ppm, 1, 10'000, " ppm",
                   "The smallest frequency change the *frequency* detector counts."),
        }));
    schema.push_back(config_table(
        "status", &Config::status, "The socket vmrefclockctl(8) talks to.",
        {
            text("socket", &StatusConfig::socket, R::kSocketPathOrEmpty,
                 "The status socket (line-delimited JSON), mode 0660. Its directory is "
                 "created when missing (mode 0750, the group below), and a lock file beside it "
                 "(the same path with .lock appended, holding the PID) keeps a second daemon from "
                 "starting. \"\" "
                 "disables the socket and the lock."),
            text("group", &StatusConfig::group, R::kAny,
                 "The group owning the status socket, whose members may connect and ask for a "
                 "reset (besides root); it must exist. \"\" is the daemon's own group."),
        }));
    schema.push_back(config_table(
        "clockbound", &Config::clockbound,
        "Bounded time for applications: a segment in AWS ClockBound's v2 shared-memory "
        "format, read by ClockBound's clients, by the C client vmrefclock installs "
        "(vmrefclock/clockbound/clockbound_client.h) and by *vmrefclockctl now*.",
        {
            flag("enabled", &ClockBoundConfig::enabled,
                 "Write the segment, once per poll. Off by default: the standard path may "
                 "belong to AWS's clockbound-d, which takes no lock. vmrefclockd takes an "
                 "exclusive flock(2) on the file and refuses to start when another process "
                 "holds it, so two vmrefclockd never share a path; a segment written in the "
                 "last 5 s is watched for 1.5 s first and refused if it changes (a live "
                 "clockbound-d). An existing valid segment is reused (warm restart: readers "
                 "keep working); any other file there is rewritten."),
            text("path", &ClockBoundConfig::path, R::kAbsoluteFilePath,
                 "The segment; where ClockBound's clients look by default."),
        }));
    schema.push_back(
        config_table("log", &Config::log, "",
                     {
                         choice("level", &LogConfig::level,
                                {"trace", "debug", "info", "warn", "error", "critical", "off"},
                                "The least severe messages logged. Applies at *SIGHUP*."),
                     }));
    return schema;
}

}  // namespace

const std::vector<ConfigTable>& config_schema() {
    static const std::vector<ConfigTable> schema = build_schema();
    return schema;
}

std::string toml_text(const std::string& value) {
    // TOML basic strings escape as the errors do; the defaults hold nothing to escape.
    return std::string(1, '"').append(printable(value, value.size())).append(1, '"');
}

std::string toml_text(const std::vector<std::string>& values) {
    std::string out = "[";
    for (const auto& v : values) out.append(out.size() > 1 ? ", " : "").append(toml_text(v));
    return out.append("]");
}

std::string accepted_choices(const std::vector<std::string_view>& names) {
    std::string out = "one of ";
    for (size_t i = 0; i < names.size(); ++i) {
        out.append(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ").append(quoted(names[i]));
    }
    return out;
}

}  // namespace vmrefclock

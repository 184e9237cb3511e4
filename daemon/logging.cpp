#include "daemon/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

namespace vmrefclock {

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (fstat(2, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

Status set_log_level(const std::string& level) {
    auto parsed = spdlog::level::from_str(level);
    // from_str answers "off" for anything it does not know; only accept "off" when asked.
    if (parsed == spdlog::level::off && level != "off") {
        return make_error("unknown log level \"" + level + "\"");
    }
    spdlog::set_level(parsed);
    return Ok{};
}

Status setup_logging(const std::string& level) {
    std::shared_ptr<spdlog::logger> logger;
    if (stderr_is_journal()) {
        // The journal adds its own timestamps and priorities.
        logger = std::make_shared<spdlog::logger>(
            "vmrefclockd", std::make_shared<spdlog::sinks::systemd_sink_mt>("vmrefclockd"));
        logger->set_pattern("%v");
    } else {
        logger = std::make_shared<spdlog::logger>(
            "vmrefclockd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$: %v");
    }
    spdlog::set_default_logger(logger);
    spdlog::flush_on(spdlog::level::info);
    return set_log_level(level);
}

}  // namespace vmrefclock

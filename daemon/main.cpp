// vmrefclockd: feeds the hypervisor's clock to chrony and survives live migration.
#include <spdlog/spdlog.h>

#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "config/config.h"
#include "config/recovery_notes.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "filter/text.h"
#include "ipc/ctl/startup_checks.h"
#include "sources/source_plan.h"

namespace {

// Every message about the configuration or the system is one line of bounded length,
// whatever the file held.
constexpr size_t kMaxMessageBytes = 1024;

void print_error(const std::string& message) {
    std::fprintf(stderr, "vmrefclockd: %s\n",
                 vmrefclock::printable_text(message, kMaxMessageBytes).c_str());
}

}  // namespace

int main(int argc, char** argv) {
    using namespace vmrefclock;
    // A closed stderr (`vmrefclockd ... 2>&1 | head -1`) or a client that went away is an
    // error value on write, not a reason to die. SIGUSR2 has no use: ignored, so a stray
    // one does not end the daemon. (SIGUSR1 logs the status; see vmrefclockd(8).)
    signal(SIGPIPE, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);

    CLI::App app{"vmrefclockd: the hypervisor's clock for chrony, correct across live migration"};
    std::string config_path = "/etc/vmrefclock/vmrefclockd.toml";
    bool check_config = false;
    bool list = false;
    app.add_option("-c,--config", config_path, "configuration file (TOML)");
    app.add_flag("--check-config", check_config,
                 "validate the configuration as startup does (groups, chronyc, timing) and exit");
    app.add_flag("--list-sources", list,
                 "print the clocks found, which one would be used and why, and exit");
    app.set_version_flag("--version", std::string("vmrefclockd ") + VMREFCLOCK_VERSION);
    CLI11_PARSE(app, argc, argv);

    // Discovery is what an operator asks a guest before writing any config: without -c
    // and without the default file, --list-sources uses the defaults.
    if (list && app.count("--config") == 0 && access(config_path.c_str(), F_OK) != 0) {
        std::fprintf(stderr, "vmrefclockd: no %s; listing with the default settings\n",
                     config_path.c_str());
        std::fputs(list_sources(Config{}).c_str(), stdout);
        return 0;
    }
    auto config = load_config(config_path);
    if (!config) {
        print_error(config.error().message);
        return 1;
    }
    if (list) {
        std::fputs(list_sources(*config).c_str(), stdout);
        return 0;
    }
    // The same checks, the same words, for --check-config and for startup.
    const StartupCheck checked = check_startup(*config);
    if (check_config) {
        for (const auto& w : checked.warnings) print_error("warning: " + w);
    }
    if (!checked.errors.empty()) {
        for (const auto& e : checked.errors) print_error(e);
        return 1;
    }
    if (check_config) {
        std::printf("%s: configuration is valid\n",
                    printable_text(config_path, kMaxMessageBytes).c_str());
        for (const auto& note : recovery_notes(*config)) std::printf("note: %s\n", note.c_str());
        return 0;
    }
    if (Status logging = setup_logging(config->log.level); !logging) {
        print_error(logging.error().message);
        return 1;
    }
    for (const auto& w : checked.warnings) spdlog::warn("{}", printable_text(w, kMaxMessageBytes));
    auto daemon = Daemon::create(std::move(*config), config_path, checked.chronyc);
    if (!daemon) {
        spdlog::critical("cannot start: {}", daemon.error().message);
        return 1;
    }
    Status ran = (*daemon)->run();
    if (!ran) spdlog::critical("{}", ran.error().message);
    return (*daemon)->exit_status();
}

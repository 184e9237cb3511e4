// vmrefclockd: feeds the hypervisor's clock to chrony and survives live migration.
#include <spdlog/spdlog.h>

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "config/config.h"
#include "config/recovery_notes.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "daemon/source_setup.h"

int main(int argc, char** argv) {
    using namespace vmrefclock;
    CLI::App app{"vmrefclockd: the hypervisor's clock for chrony, correct across live migration"};
    std::string config_path = "/etc/vmrefclock/vmrefclockd.toml";
    bool check_config = false;
    bool list = false;
    app.add_option("-c,--config", config_path, "configuration file (TOML)");
    app.add_flag("--check-config", check_config, "validate the configuration and exit");
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
        std::fprintf(stderr, "vmrefclockd: %s\n", config.error().message.c_str());
        return 1;
    }
    if (list) {
        std::fputs(list_sources(*config).c_str(), stdout);
        return 0;
    }
    if (check_config) {
        std::printf("%s: configuration is valid\n", config_path.c_str());
        for (const auto& note : recovery_notes(*config)) std::printf("note: %s\n", note.c_str());
        return 0;
    }
    if (Status logging = setup_logging(config->log.level); !logging) {
        std::fprintf(stderr, "vmrefclockd: %s\n", logging.error().message.c_str());
        return 1;
    }
    auto daemon = Daemon::create(std::move(*config), config_path);
    if (!daemon) {
        spdlog::critical("cannot start: {}", daemon.error().message);
        return 1;
    }
    Status ran = (*daemon)->run();
    if (!ran) {
        spdlog::critical("event loop failed: {}", ran.error().message);
        return 1;
    }
    return 0;
}

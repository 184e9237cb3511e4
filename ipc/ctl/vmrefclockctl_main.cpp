// vmrefclockctl: asks a running vmrefclockd over its status socket, prints chrony's
// config line for it, and checks the whole chain (doctor).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "config/config.h"
#include "ipc/ctl/clockbound_ctl.h"
#include "ipc/ctl/doctor.h"
#include "ipc/ctl/startup_checks.h"
#include "ipc/status/status.h"
#include "ipc/status/status_client.h"
#include "sources/source_plan.h"

namespace vmrefclock {
namespace {

using nlohmann::json;

// One request; prints the error and returns nullopt when the daemon says no or is absent.
std::optional<json> ask(const std::string& socket, const json& request) {
    auto client = StatusClient::connect(socket);
    if (!client) {
        std::cerr << "vmrefclockctl: " << client.error().message << '\n';
        return std::nullopt;
    }
    auto reply = client->request(request);
    if (!reply) {
        std::cerr << "vmrefclockctl: " << reply.error().message << '\n';
        return std::nullopt;
    }
    if (!reply->value("ok", false)) {
        std::cerr << "vmrefclockctl: " << reply->value("error", "request failed") << '\n';
        return std::nullopt;
    }
    return *reply;
}

std::vector<std::string> startup_problems(const Config& config) {
    StartupCheck check = check_startup(config);
    for (auto& w : check.warnings) check.errors.push_back("warning: " + w);
    return check.errors;
}

int print_json_or(const std::optional<json>& reply, const char* key, bool as_json,
                  const std::function<std::string(const json&)>& render) {
    if (!reply) return 1;
    const json value = reply->value(key, json());
    if (as_json) {
        std::cout << value.dump(2) << '\n';
        return 0;
    }
    // Fields an older daemon lacks are shown as absent; a value of the wrong type is
    // named in an error, not a crash.
    try {
        std::cout << render(value);
    } catch (const json::exception& e) {
        std::cerr << "vmrefclockctl: vmrefclockd's " << key << " answer: " << e.what() << '\n';
        return 1;
    }
    return 0;
}

int run(int argc, char** argv) {
    CLI::App app{"vmrefclockctl: query and check vmrefclockd"};
    app.require_subcommand(1);
    std::string socket = "/run/vmrefclock/status.sock";
    std::string config_path = "/etc/vmrefclock/vmrefclockd.toml";
    app.add_option("-s,--socket", socket, "vmrefclockd's status socket")->capture_default_str();
    app.add_option("-c,--config", config_path, "vmrefclockd's config file (chrony-conf, doctor)")
        ->capture_default_str();
    app.set_version_flag("--version", VMREFCLOCK_VERSION);

    bool status_json = false;
    auto* status = app.add_subcommand("status", "state, offset and health, the state first");
    status->add_flag("--json", status_json, "the status object as JSON");

    int samples_n = 20;
    bool samples_json = false;
    auto* samples = app.add_subcommand("samples", "the last samples, newest last");
    samples->add_option("-n", samples_n, "how many")
        ->capture_default_str()
        ->check(CLI::Range(0, 100000));
    samples->add_flag("--json", samples_json, "as JSON");

    auto* metrics = app.add_subcommand("metrics", "Prometheus text exposition format");
    std::string reset_reason;
    auto* reset = app.add_subcommand(
        "reset", "discard calibration and reset chrony's sources (root or the socket's group)");
    reset->add_option("--reason", reset_reason, "logged by the daemon");
    auto* sources = app.add_subcommand("sources", "the clocks found and the one used");
    auto* chrony_conf = app.add_subcommand("chrony-conf", "print chrony's refclock line");

    std::string chrony_conf_path = "/etc/chrony/chrony.conf";
    auto* doctor = app.add_subcommand("doctor", "check the chain; exit code = failed checks");
    doctor->add_option("--chrony-conf", chrony_conf_path, "chronyd's config file")
        ->capture_default_str();

    // Bounded time: read from the segment the daemon writes ([clockbound] path).
    ClockBoundPaths cb_paths;
    auto* now = app.add_subcommand("now", "earliest, latest, bound and status (ClockBound)");
    auto* wait_sync = app.add_subcommand(
        "wait-sync", "wait until synchronised with a bound at most --max-bound; exit 1 on timeout");
    std::string max_bound_text = "100ms", timeout_text = "180s";
    wait_sync->add_option("--max-bound", max_bound_text, "largest acceptable bound")
        ->capture_default_str();
    wait_sync->add_option("--timeout", timeout_text, "give up after")->capture_default_str();
    for (auto* sub : {now, wait_sync}) {
        sub->add_option("--shm", cb_paths.shm, "the segment (default: [clockbound] path)");
        sub->add_option("--vmclock", cb_paths.vmclock, "the vmclock device for the marker check")
            ->capture_default_str();
    }

    CLI11_PARSE(app, argc, argv);
    bool socket_given = app.count("--socket") > 0;

    if (*now || *wait_sync) {
        const auto* sub = *now ? now : wait_sync;
        if (sub->count("--shm") == 0) {
            auto config = load_config(config_path);
            cb_paths.shm = config ? config->clockbound.path : Config{}.clockbound.path;
        }
        if (*now) return clockbound_now(cb_paths, std::cout, std::cerr);
        WaitSyncOptions options;
        auto max_bound = parse_duration_ns(max_bound_text);
        auto timeout = parse_duration_ns(timeout_text);
        for (const auto* parsed : {&max_bound, &timeout}) {
            if (!*parsed) {
                std::cerr << "vmrefclockctl: " << parsed->error().message << '\n';
                return 2;
            }
        }
        options.max_bound_ns = *max_bound;
        options.timeout_ns = *timeout;
        return clockbound_wait_sync(cb_paths, options, std::cout, std::cerr);
    }
    if (*status) {
        auto reply = ask(socket, {{"cmd", "status"}});
        return print_json_or(reply, "status", status_json,
                             [](const json& j) { return render_text(j.get<StatusSnapshot>()); });
    }
    if (*samples) {
        auto reply = ask(socket, {{"cmd", "samples"}, {"n", samples_n}});
        return print_json_or(reply, "samples", samples_json, [](const json& j) {
            return render_samples_text(j.get<std::vector<SampleRecord>>());
        });
    }
    if (*metrics) {
        auto reply = ask(socket, {{"cmd", "metrics"}});
        if (!reply) return 1;
        std::cout << (*reply)["metrics"].get<std::string>();
        return 0;
    }
    if (*reset) {
        json request{{"cmd", "reset"}};
        if (!reset_reason.empty()) request["reason"] = reset_reason;
        if (!ask(socket, request)) return 1;
        std::cout << "reset done\n";
        return 0;
    }
    if (*sources) {
        auto reply = ask(socket, {{"cmd", "sources"}});
        if (reply) {
            std::cout << (*reply)["sources"].get<std::string>();
            return 0;
        }
        // Discovery needs no daemon: show what it would find with the daemon's config.
        std::cerr << "vmrefclockctl: showing local discovery instead\n";
        auto config = load_config(config_path);
        std::cout << list_sources(config ? *config : Config{});
        return 1;
    }
    if (*chrony_conf) {
        auto config = load_config(config_path);
        if (!config) {
            std::cerr << "vmrefclockctl: " << config.error().message << '\n';
            return 1;
        }
        std::cout << "# vmrefclockd (" << config_path << "): put in chrony.conf or "
                  << "/etc/chrony/conf.d/vmrefclock.conf\n"
                  << chrony_refclock_line(*config) << '\n';
        return 0;
    }
    if (*doctor) {
        DoctorOptions options;
        options.config_path = config_path;
        options.chrony_conf = chrony_conf_path;
        if (socket_given) options.status_socket = socket;
        options.check_startup = startup_problems;
        options.chronyc_options = [](const std::string& chronyc) {
            return chronyc_options(probe_chronyc(chronyc), geteuid() == 0);
        };
        auto checks = run_doctor(options);
        std::cout << render_doctor(checks);
        int failed = 0;
        for (const auto& c : checks) failed += c.passed ? 0 : 1;
        return failed;
    }
    return 0;
}

}  // namespace
}  // namespace vmrefclock

int main(int argc, char** argv) {
    return vmrefclock::run(argc, argv);
}

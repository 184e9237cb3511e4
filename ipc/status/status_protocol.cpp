#include "ipc/status/status_protocol.h"

#include <spdlog/spdlog.h>

#include "filter/text.h"

namespace vmrefclock {

namespace {

using nlohmann::json;

constexpr size_t kMaxEchoBytes = 64;
constexpr size_t kMaxErrorBytes = 1024;

// Strings from the daemon are replaced, never thrown on, if they are not valid UTF-8.
std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string dispatch(const json& request, const StatusCallbacks& callbacks, const StatusPeer& peer,
                     size_t max_samples) {
    if (!request.is_object()) return status_error_line("request must be a JSON object");
    auto cmd_it = request.find("cmd");
    if (cmd_it == request.end() || !cmd_it->is_string()) {
        return status_error_line("request needs a \"cmd\" string");
    }
    const std::string& cmd = cmd_it->get_ref<const std::string&>();
    json response{{"ok", true}};
    if (cmd == "status" || cmd == "metrics") {
        if (!callbacks.snapshot) return status_error_line(cmd + " is not available");
        StatusSnapshot snapshot = callbacks.snapshot();
        if (cmd == "status") {
            response["status"] = snapshot;
        } else {
            response["metrics"] = render_prometheus(snapshot);
        }
    } else if (cmd == "samples") {
        if (!callbacks.samples) return status_error_line("samples is not available");
        size_t n = 20;
        if (auto n_it = request.find("n"); n_it != request.end()) {
            // The parser reads every non-negative integer as unsigned.
            if (!n_it->is_number_unsigned() || n_it->get<uint64_t>() > max_samples) {
                return status_error_line("\"n\" must be an integer from 0 to " +
                                         std::to_string(max_samples));
            }
            n = static_cast<size_t>(n_it->get<uint64_t>());
        }
        response["samples"] = callbacks.samples(n);
    } else if (cmd == "reset") {
        if (!peer.may_reset) return status_error_line("permission denied");
        if (!callbacks.reset) return status_error_line("reset is not available");
        std::string reason =
            "reset requested on the status socket by uid " + std::to_string(peer.uid);
        if (auto r_it = request.find("reason"); r_it != request.end()) {
            if (!r_it->is_string()) return status_error_line("\"reason\" must be a string");
            // Into the log and the state's reason: one line, valid UTF-8, bounded.
            reason = printable_text(r_it->get_ref<const std::string&>(), kMaxResetReasonBytes);
        }
        Status done = callbacks.reset(reason);
        if (!done) return status_error_line("reset failed: " + done.error().message);
    } else if (cmd == "sources") {
        if (!callbacks.sources) return status_error_line("sources is not available");
        response["sources"] = callbacks.sources();
    } else {
        return status_error_line("unknown cmd \"" + printable_text(cmd, kMaxEchoBytes) + "\"");
    }
    return dump(response);
}

}  // namespace

std::string status_error_line(std::string_view message) {
    return dump(json{{"ok", false}, {"error", printable_text(message, kMaxErrorBytes)}});
}

std::string answer_status_request(std::string_view line, const StatusCallbacks& callbacks,
                                  const StatusPeer& peer, size_t max_samples) {
    // The parser checks UTF-8 inside strings; bytes outside strings are syntax errors.
    json request = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) {
        return status_error_line(is_valid_utf8(line) ? "malformed JSON"
                                                     : "malformed JSON (not valid UTF-8)");
    }
    // Callbacks are the daemon's code: an exception from one must not end the loop. No
    // request can cause one: every value is type-checked before use.
    try {
        return dispatch(request, callbacks, peer, max_samples);
    } catch (const std::exception& e) {
        spdlog::error("status socket: request failed: {}", printable_text(e.what(), 200));
        return status_error_line(std::string("internal error: ") + e.what());
    }
}

}  // namespace vmrefclock

#include "filter/batch_trace.h"

#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace vmrefclock {

namespace {

constexpr std::string_view kColumnNames[] = {"poll",        "sys_pre_ns",     "ref_ns",
                                             "sys_post_ns", "precision_ns",   "marker",
                                             "maxerror_ns", "true_offset_ns", "event"};

std::vector<std::string_view> split(std::string_view line) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (true) {
        const size_t comma = line.find(',', start);
        out.push_back(line.substr(start, comma == std::string_view::npos ? comma : comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string trace_file_header() {
    std::string h = "# vmrefclock trace v1: one reading per line; see filter/batch_trace.h\n";
    for (size_t i = 0; i < std::size(kColumnNames); ++i) {
        h += (i ? "," : "");
        h += kColumnNames[i];
    }
    return h + "\n";
}

std::string format_trace_poll(int64_t poll, const Batch& batch,
                              std::span<const double> true_offset_ns, std::string_view event) {
    std::string out;
    out.reserve(batch.readings.size() * 96);
    char marker[24] = "";
    char maxerror[24] = "";
    if (batch.host) {
        std::snprintf(marker, sizeof marker, "%" PRIu64, batch.host->disruption_marker);
        if (batch.host->time_maxerror_ns) {
            std::snprintf(maxerror, sizeof maxerror, "%" PRIu64, *batch.host->time_maxerror_ns);
        }
    }
    const bool truth = true_offset_ns.size() == batch.readings.size();
    for (size_t i = 0; i < batch.readings.size(); ++i) {
        const Reading& r = batch.readings[i];
        char truth_text[40] = "";
        if (truth && std::isfinite(true_offset_ns[i])) {
            std::snprintf(truth_text, sizeof truth_text, "%.4f", true_offset_ns[i]);
        }
        char line[256];
        std::snprintf(line, sizeof line,
                      "%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%s,%s,%s,", poll,
                      r.sys_pre_ns, r.ref_ns, r.sys_post_ns, batch.precision_ns, marker, maxerror,
                      truth_text);
        out += line;
        if (i == 0) out += event;
        out += '\n';
    }
    return out;
}

Error TraceParser::error(const std::string& what) const {
    return make_error(origin_ + ":" + std::to_string(line_) + ": " + what);
}

Result<std::optional<TracePoll>> TraceParser::take() {
    std::optional<TracePoll> done = std::move(current_);
    current_.reset();
    if (done && !truth_complete_) done->true_offset_ns.clear();
    truth_complete_ = true;
    return done;
}

Result<std::optional<TracePoll>> TraceParser::feed(std::string_view raw) {
    ++line_;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') return std::optional<TracePoll>{};
    const std::vector<std::string_view> fields = split(line);
    if (!have_header_) {
        bool seen[kCount] = {};
        for (std::string_view f : fields) {
            int column = -1;
            for (int c = 0; c < kCount; ++c) {
                if (trim(f) == kColumnNames[c]) column = c;
            }
            if (column >= 0 && seen[column]) {
                return error("column \"" + std::string(trim(f)) + "\" named twice");
            }
            if (column >= 0) seen[column] = true;
            columns_.push_back(column);
        }
        for (int c = kPoll; c <= kPost; ++c) {
            if (!seen[c]) {
                return error("the header names no \"" + std::string(kColumnNames[c]) +
                             "\" column (expected a header line such as: poll,sys_pre_ns,"
                             "ref_ns,sys_post_ns)");
            }
        }
        have_header_ = true;
        return std::optional<TracePoll>{};
    }
    if (fields.size() != columns_.size()) {
        return error("expected " + std::to_string(columns_.size()) + " fields, got " +
                     std::to_string(fields.size()));
    }
    std::string_view value[kCount];
    for (size_t i = 0; i < fields.size(); ++i) {
        if (columns_[i] >= 0) value[columns_[i]] = trim(fields[i]);
    }
    int64_t ints[4] = {};
    for (int c = kPoll; c <= kPost; ++c) {
        if (!parse_number(value[c], ints[c])) {
            return error(std::string(kColumnNames[c]) + ": not an integer: \"" +
                         std::string(value[c]) + "\"");
        }
    }
    const int64_t poll = ints[kPoll];
    if (last_poll_ && poll < *last_poll_) {
        return error("poll " + std::to_string(poll) + " after poll " + std::to_string(*last_poll_) +
                     ": poll indices must not decrease");
    }
    std::optional<TracePoll> completed;
    if (current_ && current_->poll != poll) {
        Result<std::optional<TracePoll>> t = take();
        completed = std::move(*t);
    }
    last_poll_ = poll;
    if (!current_) {
        TracePoll p;
        p.poll = poll;
        if (!value[kPrecision].empty() &&
            (!parse_number(value[kPrecision], p.batch.precision_ns) || p.batch.precision_ns < 1)) {
            return error("precision_ns: not an integer >= 1: \"" + std::string(value[kPrecision]) +
                         "\"");
        }
        if (!value[kMarker].empty()) {
            HostInfo h;
            h.clock_status = ClockStatus::synchronized;
            if (!parse_number(value[kMarker], h.disruption_marker)) {
                return error("marker: not an unsigned integer: \"" + std::string(value[kMarker]) +
                             "\"");
            }
            if (!value[kMaxerror].empty()) {
                uint64_t m = 0;
                if (!parse_number(value[kMaxerror], m)) {
                    return error("maxerror_ns: not an unsigned integer: \"" +
                                 std::string(value[kMaxerror]) + "\"");
                }
                h.time_maxerror_ns = m;
            }
            p.batch.host = h;
        } else if (!value[kMaxerror].empty()) {
            return error("maxerror_ns given without a marker (host metadata needs both)");
        }
        if (!value[kEvent].empty() && value[kEvent] != "disruption" &&
            value[kEvent] != "master_step") {
            return error("event: expected \"disruption\", \"master_step\" or empty, got \"" +
                         std::string(value[kEvent]) + "\"");
        }
        p.event = std::string(value[kEvent]);
        current_ = std::move(p);
    }
    current_->batch.readings.push_back(Reading{ints[kPre], ints[kRef], ints[kPost]});
    double truth = 0;
    if (value[kTruth].empty()) {
        truth_complete_ = false;
    } else if (!parse_number(value[kTruth], truth) || !std::isfinite(truth)) {
        return error("true_offset_ns: not a number: \"" + std::string(value[kTruth]) + "\"");
    }
    current_->true_offset_ns.push_back(truth);
    return completed;
}

Result<std::optional<TracePoll>> TraceParser::finish() {
    if (!have_header_) return error("no header line (the file is empty or all comments)");
    return take();
}

}  // namespace vmrefclock

#include "tests/sim/lab/replay.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <numeric>

namespace vmrefclock::lab {

TraceFileStream::TraceFileStream(const std::string& path) : in_(path), parser_(path) {
    if (!in_) error_ = errno_error("cannot read " + path, errno).message;
}

namespace {
constexpr size_t kHistory = 64;  // polls: chrony-style samples average the last 4
}  // namespace

const Batch* TraceFileStream::next() {
    poll_.reset();
    event_ = EventKind::none;
    if (!error_.empty()) return nullptr;
    std::string line;
    while (!ahead_ && !at_end_) {
        Result<std::optional<TracePoll>> r =
            std::getline(in_, line) ? parser_.feed(line) : parser_.finish();
        if (!in_) at_end_ = true;
        if (!r) {
            error_ = r.error().message;
            return nullptr;
        }
        if (*r) ahead_ = std::move(*r);
    }
    if (!ahead_) return nullptr;
    poll_ = std::move(ahead_);
    ahead_.reset();
    if (poll_->event == "disruption") event_ = EventKind::disruption;
    if (poll_->event == "master_step") event_ = EventKind::master_step;
    const std::vector<Reading>& rs = poll_->batch.readings;
    if (poll_->true_offset_ns.empty() || rs.empty()) {
        points_.clear();  // no truth here: nothing to interpolate across
        return &poll_->batch;
    }
    // Means relative to the first reading: 1.8e18 ns does not fit a double exactly.
    const int64_t t0 = rs[0].sys_mid_ns();
    int64_t first = t0;
    double dt = 0, truth = 0;
    for (size_t i = 0; i < rs.size(); ++i) {
        dt += static_cast<double>(rs[i].sys_mid_ns() - t0);
        truth += poll_->true_offset_ns[i];
        first = std::min(first, rs[i].sys_mid_ns());
    }
    const auto n = static_cast<double>(rs.size());
    const bool event =
        event_ != EventKind::none || (poll_->batch.host && last_marker_ &&
                                      poll_->batch.host->disruption_marker != *last_marker_);
    points_.push_back({t0 + std::llround(dt / n), truth / n, first, event});
    if (points_.size() > kHistory) points_.erase(points_.begin());
    if (poll_->batch.host) last_marker_ = poll_->batch.host->disruption_marker;
    return &poll_->batch;
}

// Inside the last poll (from kPollMarginNs before its first reading): its mean truth,
// moved along the slope from the poll before (none across an event). Earlier: linear
// between the neighbouring polls' points. A poll spans a few hundred ns, too little to
// take a slope from its own readings.
std::optional<double> TraceFileStream::truth(int64_t t_ns) const {
    if (points_.empty() || !poll_) return std::nullopt;
    const Point& cur = points_.back();
    if (t_ns >= cur.first_mid_ns - GeneratedStream::kPollMarginNs || points_.size() == 1) {
        double slope = 0;
        if (points_.size() >= 2 && !cur.event) {
            const Point& prev = points_[points_.size() - 2];
            slope = (cur.truth_ns - prev.truth_ns) / static_cast<double>(cur.mid_ns - prev.mid_ns);
        }
        return cur.truth_ns + slope * static_cast<double>(t_ns - cur.mid_ns);
    }
    auto it = std::upper_bound(points_.begin(), points_.end(), t_ns,
                               [](int64_t t, const Point& p) { return t < p.mid_ns; });
    if (it == points_.begin()) return std::nullopt;  // older than the history
    const Point& a = *(it - 1);
    const Point& b = *it;
    return a.truth_ns + (b.truth_ns - a.truth_ns) * static_cast<double>(t_ns - a.mid_ns) /
                            static_cast<double>(b.mid_ns - a.mid_ns);
}

Status write_trace_file(const ScenarioConfig& config, uint64_t seed, int64_t polls,
                        const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return errno_error("cannot create " + path, errno);
    TraceGenerator gen(config, seed);
    std::string text = trace_file_header();
    std::vector<double> truth;
    bool ok = true;
    for (int64_t p = 0; p < polls && ok; ++p) {
        const Batch& b = gen.next();
        truth.clear();
        for (const Reading& r : b.readings) truth.push_back(gen.truth(r.sys_mid_ns()));
        const char* event = gen.event() == EventKind::disruption    ? "disruption"
                            : gen.event() == EventKind::master_step ? "master_step"
                                                                    : "";
        text += format_trace_poll(p, b, truth, event);
        if (text.size() > (1u << 20)) {
            ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
            text.clear();
        }
    }
    if (ok) ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const int e = errno;
    if (std::fclose(f) != 0 || !ok) return errno_error("cannot write " + path, ok ? errno : e);
    return Ok{};
}

}  // namespace vmrefclock::lab

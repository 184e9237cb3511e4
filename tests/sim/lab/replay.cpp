#include "tests/sim/lab/replay.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <numeric>

namespace vmrefclock::lab {

TraceFileStream::TraceFileStream(const std::string& path) : in_(path), parser_(path) {
    if (!in_) error_ = errno_error("cannot read " + path, errno).message;
}

const Batch* TraceFileStream::next() {
    poll_.reset();
    event_ = EventKind::none;
    mids_.clear();
    truths_.clear();
    if (!error_.empty()) return nullptr;
    std::string line;
    while (!ahead_ && !at_end_) {
        Result<std::optional<TracePoll>> r = std::getline(in_, line) ? parser_.feed(line)
                                                                      : parser_.finish();
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
    if (!poll_->true_offset_ns.empty()) {
        const std::vector<Reading>& rs = poll_->batch.readings;
        std::vector<size_t> order(rs.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&rs](size_t a, size_t b) {
            return rs[a].sys_mid_ns() < rs[b].sys_mid_ns();
        });
        for (size_t i : order) {
            mids_.push_back(rs[i].sys_mid_ns());
            truths_.push_back(poll_->true_offset_ns[i]);
        }
    }
    return &poll_->batch;
}

// Linear between the neighbouring readings' midpoints, and beyond the first or last
// along the line through the first and last: exact for a truth linear over the poll.
std::optional<double> TraceFileStream::truth(int64_t t_ns) const {
    if (mids_.empty()) return std::nullopt;
    auto line = [](int64_t t0, double y0, int64_t t1, double y1, int64_t t) {
        if (t1 == t0) return y0;
        return y0 + (y1 - y0) * static_cast<double>(t - t0) / static_cast<double>(t1 - t0);
    };
    const auto it = std::upper_bound(mids_.begin(), mids_.end(), t_ns);
    if (it == mids_.begin() || it == mids_.end()) {
        return line(mids_.front(), truths_.front(), mids_.back(), truths_.back(), t_ns);
    }
    const auto i = static_cast<size_t>(it - mids_.begin());
    return line(mids_[i - 1], truths_[i - 1], mids_[i], truths_[i], t_ns);
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

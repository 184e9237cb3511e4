// The sink and chrony control the pipeline tests share: they record what reached them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "filter/sink.h"

namespace vmrefclock::test {

// A clock sink (chrony's place): records every sample sent, or fails while `down`.
class RecordingSink : public Sink {
  public:
    bool feeds_clock() const override { return true; }
    Status deliver(const SinkUpdate& update) override {
        ++updates;
        if (update.sample == nullptr) return Ok{};
        if (down) return make_error("connect: No such file or directory", 2);
        return send_copies(update, [this](const Sample& s) -> Status {
            sent.push_back(s);
            return Ok{};
        });
    }
    SinkStatus status() const override {
        SinkStatus s{"chrony",    "fake", down ? "down" : "connected", !down, std::nullopt,
                     sent.size(), 0};
        if (down) s.last_error = "down";
        return s;
    }
    std::vector<Sample> sent;
    int updates = 0;
    bool down = false;
};

class RecordingControl : public ChronyResetter {
  public:
    bool enabled() const override { return true; }
    void request_reset(std::string_view reason) override { resets.emplace_back(reason); }
    std::vector<std::string> resets;
};

}  // namespace vmrefclock::test

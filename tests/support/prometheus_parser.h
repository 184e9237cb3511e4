// Parses Prometheus text exposition with the reference Python client's parser, so tests
// check the format with a real parser rather than string equality.
#pragma once

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.h"

namespace vmrefclock::test {

// {family: {"type": t, "help": h, "samples": [[name, {labels}, value], ...]}};
// json(nullptr) when the parser rejects the text; nullopt when python3 or
// prometheus_client is missing (the caller skips).
inline std::optional<nlohmann::json> parse_with_prometheus_client(const std::string& text) {
    // Probed once per test process: each probe starts a python3.
    static const char* const python = [] {
        for (const char* candidate : {"/usr/bin/python3", "python3"}) {
            std::string probe =
                std::string(candidate) + " -c 'import prometheus_client.parser' >/dev/null 2>&1";
            if (std::system(probe.c_str()) == 0) return candidate;
        }
        return static_cast<const char*>(nullptr);
    }();
    if (!python) return std::nullopt;
    TempDir dir("vmr_prom");
    const std::string in = dir.file("metrics.txt"), out = dir.file("parsed.json");
    std::ofstream(in) << text;
    std::string cmd = std::string(python) +
                      " -c '"
                      "import json, sys\n"
                      "from prometheus_client.parser import text_string_to_metric_families as p\n"
                      "r = {f.name: {\"type\": f.type, \"help\": f.documentation,"
                      " \"samples\": [[s.name, s.labels, s.value] for s in f.samples]}"
                      " for f in p(open(sys.argv[1]).read())}\n"
                      "json.dump(r, open(sys.argv[2], \"w\"))' " +
                      in + " " + out + " 2>/dev/null";
    int rc = std::system(cmd.c_str());
    nlohmann::json parsed = nlohmann::json::parse(std::ifstream(out), nullptr, false);
    if (rc != 0 || parsed.is_discarded()) return nlohmann::json(nullptr);
    return parsed;
}

// The value of `family`'s sample with exactly `labels` in a parse result; fails the
// test (and returns -1) when there is none.
inline double sample_value(const nlohmann::json& families, const std::string& family,
                           const nlohmann::json& labels = nlohmann::json::object()) {
    for (const nlohmann::json& s : families.at(family).at("samples")) {
        if (s[1] == labels) return s[2].get<double>();
    }
    ADD_FAILURE() << "no sample " << family << labels.dump();
    return -1;
}

}  // namespace vmrefclock::test

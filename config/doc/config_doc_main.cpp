// vmrefclock-config-doc: prints or rewrites what config_schema() documents.
//   --toml          the example configuration
//   --man           the key list of vmrefclockd.toml(5), markers included
//   --write DIR     rewrites both in the source tree DIR
// Not installed: the build's tool for keeping the checked-in documents in step.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "config/config_doc.h"

namespace {

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream s;
    s << in.rdbuf();
    out = s.str();
    return true;
}

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    return static_cast<bool>(out);
}

int write_tree(const std::string& dir) {
    using namespace vmrefclock;
    const std::string toml = dir + "/" + std::string(kExampleConfigPath);
    const std::string man = dir + "/" + std::string(kConfigManPagePath);
    std::string page;
    if (!read_file(man, page)) {
        std::cerr << "vmrefclock-config-doc: cannot read " << man << '\n';
        return 1;
    }
    const auto spliced = splice_man_keys(page, render_man_keys());
    if (!spliced) {
        std::cerr << "vmrefclock-config-doc: " << man << " has no generated key list markers\n";
        return 1;
    }
    for (const auto& [path, text] : {std::pair{toml, render_example_toml()}, {man, *spliced}}) {
        if (!write_file(path, text)) {
            std::cerr << "vmrefclock-config-doc: cannot write " << path << '\n';
            return 1;
        }
        std::cout << "wrote " << path << '\n';
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view what = argc > 1 ? argv[1] : "";
    if (argc == 2 && what == "--toml") {
        std::cout << vmrefclock::render_example_toml();
        return 0;
    }
    if (argc == 2 && what == "--man") {
        std::cout << vmrefclock::render_man_keys();
        return 0;
    }
    if (argc == 3 && what == "--write") return write_tree(argv[2]);
    std::cerr << "usage: vmrefclock-config-doc --toml | --man | --write SOURCE_DIR\n";
    return 2;
}

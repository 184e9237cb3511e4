#include "config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "config/config_keys.h"
#include "config/toml_values.h"

namespace vmrefclock {

namespace {

// A configuration is a few hundred bytes; anything beyond this is not one.
constexpr off_t kMaxConfigBytes = 1 << 20;

template <class Named>
std::string names_of(const std::vector<Named>& entries, bool as_tables) {
    std::string list;
    for (const auto& e : entries) {
        list += (list.empty() ? "" : ", ") + (as_tables ? bracketed(e.name) : std::string(e.name));
    }
    return list;
}

MaybeError read_table(const Where& w, const toml::node& node, const ConfigTable& table,
                      Config& config) {
    const auto* values = node.as_table();
    if (!values) {
        return w.at(node.source(),
                    bracketed(w.table()) + " must be a table, got " + type_name(node));
    }
    for (const auto& [key, value] : *values) {
        const ConfigKey* entry = nullptr;
        for (const auto& k : table.keys) {
            if (k.name == key.str()) entry = &k;
        }
        if (!entry) {
            return w.at(key.source(), bracketed(w.table()) + " unknown key " + quoted(key.str()) +
                                          " (accepted: " + names_of(table.keys, false) + ")");
        }
        if (auto e = entry->read(w, key.str(), value, config)) return e;
    }
    return std::nullopt;
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view origin) {
    toml::table root;
    try {
        root = toml::parse(toml_text, origin);
    } catch (const toml::parse_error& e) {
        const auto& begin = e.source().begin;
        // toml++ quotes whole keys in some descriptions ("cannot redefine existing ...").
        return make_error(std::string(origin) + ":" + std::to_string(begin.line) + ":" +
                          std::to_string(begin.column) + ": " +
                          printable(e.description(), kMaxDescriptionBytes));
    }

    Config config;
    const std::vector<ConfigTable>& schema = config_schema();
    for (const auto& [key, node] : root) {
        const ConfigTable* table = nullptr;
        for (const auto& t : schema) {
            if (t.name == key.str()) table = &t;
        }
        if (!table) {
            const std::string what = node.is_table()
                                         ? "unknown table " + bracketed_excerpt(key.str())
                                         : "unknown top-level key " + quoted(key.str());
            return Where(origin, "")
                .at(key.source(), what + " (accepted tables: " + names_of(schema, true) + ")");
        }
        if (auto e = read_table(Where(origin, key.str()), node, *table, config)) return *e;
    }
    return config;
}

namespace {

const char* file_kind(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "of an unknown type";
}

}  // namespace

Result<Config> load_config(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (a SIGHUP reload runs on the
    // event loop). fstat then refuses anything but a regular file before a byte is read:
    // a FIFO would block, /dev/zero would never end, a directory has nothing to read.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return errno_error("cannot read " + path, e);
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return errno_error("cannot read " + path, e);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return errno_error("cannot read " + path, EISDIR);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return make_error("cannot read " + path + ": " + file_kind(st.st_mode) +
                          ", not a regular file");
    }
    const std::string limit = " bytes (1 MiB) a configuration may have";
    if (st.st_size > kMaxConfigBytes) {
        close(fd);
        return make_error("cannot read " + path + ": " + std::to_string(st.st_size) +
                          " bytes, more than the " + std::to_string(kMaxConfigBytes) + limit);
    }
    // Read one byte past the cap: the file may have grown since fstat.
    std::string text(static_cast<size_t>(kMaxConfigBytes) + 1, '\0');
    size_t have = 0;
    while (have < text.size()) {
        const ssize_t n = ::read(fd, text.data() + have, text.size() - have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return errno_error("cannot read " + path, e);
        }
        if (n == 0) break;
        have += static_cast<size_t>(n);
    }
    close(fd);
    if (have > static_cast<size_t>(kMaxConfigBytes)) {
        return make_error("cannot read " + path + ": more than the " +
                          std::to_string(kMaxConfigBytes) + limit);
    }
    text.resize(have);
    return parse_config(text, path);
}

}  // namespace vmrefclock

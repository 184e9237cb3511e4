#include "ipc/ctl/doctor.h"

#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "ipc/ctl/source_check.h"
#include "ipc/status/status_client.h"
#include "ipc/sys/unix_address.h"

namespace vmrefclock {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> split_words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::vector<std::string> glob_paths(const std::string& pattern) {
    std::vector<std::string> out;
    glob_t g{};
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    }
    globfree(&g);
    return out;
}

struct RefclockLine {
    std::string file;
    std::vector<std::string> words;
};

// Every `refclock` directive chronyd would read: the file, `include` globs and the
// *.conf files of `confdir` directories (first directory wins for equal names, as
// chronyd does). `sourcedir` files may hold only sources, never refclocks.
void collect_refclocks(const std::string& path, int depth, std::vector<std::string>& files,
                       std::vector<RefclockLine>& out) {
    if (depth > 8) return;
    std::ifstream in(path);
    if (!in) return;
    files.push_back(path);
    for (std::string line; std::getline(in, line);) {
        auto words = split_words(line);
        if (words.empty() || words[0][0] == '#' || words[0][0] == '!' || words[0][0] == ';' ||
            words[0][0] == '%') {
            continue;
        }
        std::string directive = lower(words[0]);
        if (directive == "refclock") {
            out.push_back({path, words});
        } else if (directive == "include" && words.size() >= 2) {
            for (const auto& p : glob_paths(words[1])) collect_refclocks(p, depth + 1, files, out);
        } else if (directive == "confdir") {
            std::set<std::string> seen;
            for (size_t i = 1; i < words.size(); ++i) {
                auto paths = glob_paths(words[i] + "/*.conf");
                std::sort(paths.begin(), paths.end());
                for (const auto& p : paths) {
                    if (seen.insert(fs::path(p).filename()).second) {
                        collect_refclocks(p, depth + 1, files, out);
                    }
                }
            }
        }
    }
}

std::string option_value(const std::vector<std::string>& words, const std::string& option) {
    for (size_t i = 3; i + 1 < words.size(); ++i) {
        if (lower(words[i]) == option) return words[i + 1];
    }
    return "";
}

std::vector<std::string> split_csv(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) out.push_back(f);
    return out;
}

}  // namespace

std::string chrony_refclock_line(const Config& config) {
    return "refclock SOCK " + config.chrony.socket + " refid VMCK poll " +
           std::to_string(config.chrony.poll) + " precision 1e-7";
}

std::string access_problem(const std::string& user, const std::vector<std::string>& extra_groups,
                           const std::string& path, int mode) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
        return "user " + user + " does not exist (install the package's sysusers file)";
    }
    if (pw.pw_uid == 0) return "";
    std::vector<gid_t> groups(256);
    int n = static_cast<int>(groups.size());
    if (getgrouplist(user.c_str(), pw.pw_gid, groups.data(), &n) < 0) n = 0;
    groups.resize(static_cast<size_t>(n));
    for (const auto& name : extra_groups) {
        if (group* g = getgrnam(name.c_str())) groups.push_back(g->gr_gid);
    }
    auto allowed = [&](const struct stat& st, int bits) {
        int shift = st.st_uid == pw.pw_uid                                               ? 6
                    : std::find(groups.begin(), groups.end(), st.st_gid) != groups.end() ? 3
                                                                                         : 0;
        return static_cast<int>((st.st_mode >> shift) & 7u & static_cast<unsigned>(bits)) == bits;
    };
    fs::path p = fs::absolute(path);
    for (fs::path dir = p.parent_path(); !dir.empty(); dir = dir.parent_path()) {
        struct stat st {};
        if (stat(dir.c_str(), &st) == 0 && !allowed(st, 1)) {
            return "user " + user + " cannot enter " + dir.string();
        }
        if (dir == dir.root_path()) break;
    }
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return errno_error(path, errno).message;
    int bits = ((mode & R_OK) ? 4 : 0) | ((mode & W_OK) ? 2 : 0);
    if (!allowed(st, bits)) {
        return "user " + user + " may not " + ((mode & W_OK) ? "write " : "read ") + path;
    }
    return "";
}

std::vector<DoctorCheck> run_doctor(const DoctorOptions& options) {
    std::vector<DoctorCheck> checks;
    Config config;
    {
        DoctorCheck c{"config valid", false, options.config_path, ""};
        auto loaded = load_config(options.config_path);
        if (loaded) {
            config = *loaded;
            c.passed = true;
            for (const auto& problem : options.check_startup ? options.check_startup(config)
                                                             : std::vector<std::string>{}) {
                const bool warning = problem.rfind("warning: ", 0) == 0;
                c.detail += "; " + problem;
                if (!warning && c.passed) {
                    c.passed = false;
                    c.hint = "vmrefclockd would not start: fix " + options.config_path +
                             " or the system (vmrefclockd --check-config says the same)";
                }
            }
        } else {
            c.detail = loaded.error().message;
            c.hint = "fix " + options.config_path +
                     " (see vmrefclockd.toml(5)); the checks below use the defaults";
        }
        checks.push_back(c);
    }
    checks.push_back(options.check_source ? options.check_source(config)
                                          : doctor_source_check(config, options));

    const std::string& sock = config.chrony.socket;
    {
        DoctorCheck c{"chronyd's SOCK socket exists and is writable", false, sock, ""};
        struct stat st {};
        auto addr = unix_address(sock);
        bool exists = stat(sock.c_str(), &st) == 0;
        if (!addr) {
            c.detail = addr.error().message;
            c.hint = "set [chrony] socket (and chrony's refclock line) to a shorter path";
        } else if (!exists || !S_ISSOCK(st.st_mode)) {
            c.detail = sock + (exists ? " is not a socket" : " does not exist");
            c.hint = "add \"" + chrony_refclock_line(config) +
                     "\" to chrony's config (vmrefclockctl chrony-conf) and restart chronyd";
        } else {
            int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            bool live = fd >= 0 && connect(fd, addr->get(), addr->size()) == 0;
            int e = errno;
            if (fd >= 0) close(fd);
            std::string problem =
                access_problem(options.service_user, options.service_extra_groups, sock, W_OK);
            if (!live) {
                c.detail = errno_error(sock, e).message;
                c.hint = "chronyd is not running or left a stale socket: systemctl restart chrony";
            } else if (!problem.empty() && !options.service_dac_override) {
                c.detail = problem;
                c.hint =
                    "chronyd makes this socket root-only: run vmrefclockd with "
                    "AmbientCapabilities=CAP_DAC_OVERRIDE (the shipped unit does)";
            } else {
                c.passed = true;
            }
        }
        checks.push_back(c);
    }

    std::vector<std::string> files;
    std::vector<RefclockLine> refclocks;
    collect_refclocks(options.chrony_conf, 0, files, refclocks);
    std::string refid = "VMCK";
    {
        DoctorCheck c{"refclock configured in chrony's config", false, "", ""};
        c.hint = "add \"" + chrony_refclock_line(config) + "\" (vmrefclockctl chrony-conf) to " +
                 (files.size() > 1 ? "/etc/chrony/conf.d/vmrefclock.conf" : options.chrony_conf) +
                 " and restart chronyd";
        const RefclockLine* match = nullptr;
        for (const auto& r : refclocks) {
            if (r.words.size() >= 3 && lower(r.words[1]) == "sock" && r.words[2] == sock) {
                match = &r;
            }
        }
        if (files.empty()) {
            c.detail = "cannot read " + options.chrony_conf;
            c.hint = "pass chrony's config with --chrony-conf";
        } else if (!match) {
            c.detail = "no \"refclock SOCK " + sock + "\" in " + std::to_string(files.size()) +
                       " file(s) read from " + options.chrony_conf;
        } else {
            std::string poll = option_value(match->words, "poll");
            if (!option_value(match->words, "refid").empty()) {
                refid = option_value(match->words, "refid");
            }
            // chrony's refclock poll defaults to 4.
            int chrony_poll = poll.empty() ? 4 : std::atoi(poll.c_str());
            c.detail = match->file;
            if (chrony_poll != config.chrony.poll) {
                c.detail += ": poll " + std::to_string(chrony_poll) +
                            " but [chrony] poll = " + std::to_string(config.chrony.poll);
                c.hint = "make the refclock's poll and [chrony] poll equal";
            } else {
                c.passed = true;
            }
        }
        checks.push_back(c);
    }

    {
        DoctorCheck c{"chrony sees the refclock with full reach", false, "", ""};
        std::vector<std::string> argv = {config.chrony.chronyc};
        if (options.chronyc_options) {
            auto extra = options.chronyc_options(config.chrony.chronyc);
            argv.insert(argv.end(), extra.begin(), extra.end());
        }
        argv.insert(argv.end(), {"-n", "-c"});
        if (!config.chrony.control_socket.empty()) {
            argv.insert(argv.end(), {"-h", config.chrony.control_socket});
        }
        argv.push_back("sources");
        ProgramOutput out = options.run ? options.run(argv) : run_program(argv);
        bool found = false;
        std::istringstream lines(out.output);
        for (std::string line; std::getline(lines, line);) {
            auto f = split_csv(line);
            if (f.size() < 6 || f[0] != "#" || f[2] != refid) continue;
            found = true;
            c.detail = refid + " state '" + f[1] + "' reach " + f[5];
            if (f[5] != "377") {
                c.hint =
                    "reach must be 377 (the last 8 polls good): wait 8 polls after start, "
                    "then see vmrefclockctl status";
            } else if (f[1] == "x" || f[1] == "?" || f[1] == "~") {
                c.hint =
                    "chrony rejects the refclock (state '" + f[1] + "'): see chronyc sources -v";
            } else {
                c.passed = true;
            }
        }
        if (!found) {
            c.detail = out.exit_status != 0 ? "chronyc: " + out.output.substr(0, 200)
                                            : "no refclock " + refid + " in chronyc sources";
            c.hint = out.exit_status != 0 ? "is chronyd running? systemctl status chrony"
                                          : "configure the refclock (above) and restart chronyd";
        }
        while (!c.detail.empty() && c.detail.back() == '\n') c.detail.pop_back();
        checks.push_back(c);
    }

    {
        DoctorCheck c{"vmrefclockd running and ok", false, "", ""};
        std::string path =
            options.status_socket.empty() ? config.status.socket : options.status_socket;
        auto client = StatusClient::connect(path, 2'000'000'000);
        auto reply = client ? client->request({{"cmd", "status"}}, 2'000'000'000)
                            : Result<nlohmann::json>(client.error());
        if (!reply) {
            c.detail = reply.error().message;
            c.hint = "systemctl start vmrefclockd; journalctl -u vmrefclockd";
        } else if (!(*reply).value("ok", false) || !(*reply).contains("status")) {
            c.detail = (*reply).value("error", "bad response");
        } else {
            const auto& s = (*reply)["status"];
            c.detail = s.value("state", "?") + ": " + s.value("reason", "");
            c.passed = s.value("state", "") == "ok";
            if (!c.passed) c.hint = "see vmrefclockctl status and journalctl -u vmrefclockd";
        }
        checks.push_back(c);
    }
    return checks;
}

std::string render_doctor(const std::vector<DoctorCheck>& checks) {
    std::ostringstream out;
    int failed = 0;
    for (const auto& c : checks) {
        out << (c.passed ? "[pass] " : "[FAIL] ") << c.name;
        if (!c.detail.empty()) out << ": " << c.detail;
        out << '\n';
        if (!c.passed) {
            ++failed;
            if (!c.hint.empty()) out << "       fix: " << c.hint << '\n';
        }
    }
    out << (failed == 0 ? "all checks passed" : std::to_string(failed) + " check(s) failed")
        << '\n';
    return out.str();
}

}  // namespace vmrefclock

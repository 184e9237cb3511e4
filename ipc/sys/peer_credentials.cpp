#include "ipc/sys/peer_credentials.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59  // Linux 4.13; older libc headers may lack the name
#endif

namespace vmrefclock {

namespace {

// The peer's supplementary groups as the kernel saw them at connect(): no race with
// the peer exiting and its pid being reused, unlike /proc/<pid>/status.
std::vector<gid_t> peer_groups(int fd, const ucred& cred) {
    std::vector<gid_t> groups(64);
    socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0 && errno == ERANGE) {
        groups.resize(len / sizeof(gid_t));
        len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
            groups.resize(len / sizeof(gid_t));
            return groups;
        }
    } else if (errno != ENOPROTOOPT) {
        groups.resize(len / sizeof(gid_t));
        return groups;
    }
    // Kernels before 4.13: the peer's process status, then the user database.
    groups.clear();
    std::ifstream status("/proc/" + std::to_string(cred.pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("Groups:", 0) != 0) continue;
        std::istringstream in(line.substr(7));
        for (gid_t g; in >> g;) groups.push_back(g);
        return groups;
    }
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(cred.uid, &pw, buf.data(), buf.size(), &found) == 0 && found) {
        int n = 256;
        groups.resize(static_cast<size_t>(n));
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) >= 0) {
            groups.resize(static_cast<size_t>(n));
            return groups;
        }
    }
    groups.clear();
    return groups;
}

}  // namespace

bool peer_in_group(int fd, const ucred& cred, gid_t gid) {
    if (cred.gid == gid) return true;
    std::vector<gid_t> groups = peer_groups(fd, cred);
    return std::find(groups.begin(), groups.end(), gid) != groups.end();
}

}  // namespace vmrefclock

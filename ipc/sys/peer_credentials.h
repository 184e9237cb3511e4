// Who is on the other end of a unix socket, as the kernel saw it at connect().
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

namespace vmrefclock {

// True when the peer (credentials `cred` from SO_PEERCRED on `fd`) has `gid` as its
// primary or a supplementary group.
bool peer_in_group(int fd, const ucred& cred, gid_t gid);

}  // namespace vmrefclock

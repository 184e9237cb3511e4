// The seam between PtpSource and the kernel: every device call goes through here, so
// tests can put a fake PTP clock (tests/sim/fakes/fake_ptp.h) behind the same code.
#pragma once

#include <memory>
#include <string>

#include "filter/result.h"

namespace vmrefclock {

class PtpDeviceIo {
  public:
    virtual ~PtpDeviceIo() = default;
    // Opens a PTP clock character device read-only; the Error carries errno.
    virtual Result<int> open(const std::string& path) = 0;
    // One ioctl: 0 on success or -errno (never sets errno for the caller to read).
    virtual int ioctl(int fd, unsigned long request, void* arg) = 0;
    virtual void close(int fd) = 0;
};

// The real system calls: open(O_RDONLY | O_CLOEXEC), ioctl (retried on EINTR), close.
std::shared_ptr<PtpDeviceIo> make_system_ptp_device_io();

}  // namespace vmrefclock

#include "sources/ptp/ptp_device.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vmrefclock {
namespace {

class SystemPtpDeviceIo final : public PtpDeviceIo {
  public:
    Result<int> open(const std::string& path) override {
        // O_NONBLOCK: a FIFO at the path must be refused, not waited on for a writer.
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
            int err = errno;
            return errno_error("open " + path, err);
        }
        struct stat st {};
        if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
            ::close(fd);
            return make_error("open " + path + ": not a character device (a PHC is /dev/ptpN)",
                              ENODEV);
        }
        return fd;
    }

    int ioctl(int fd, unsigned long request, void* arg) override {
        // A signal arriving mid-call is not a device problem: retry a few times.
        for (int attempt = 0; attempt < 3; ++attempt) {
            if (::ioctl(fd, request, arg) == 0) return 0;
            if (errno != EINTR) return -errno;
        }
        return -EINTR;
    }

    void close(int fd) override { ::close(fd); }
};

}  // namespace

std::shared_ptr<PtpDeviceIo> make_system_ptp_device_io() {
    return std::make_shared<SystemPtpDeviceIo>();
}

}  // namespace vmrefclock

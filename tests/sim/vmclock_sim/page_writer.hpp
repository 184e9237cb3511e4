// Owns the page file: creates it whole (tmp + rename) and updates it in place under the ABI's
// seqcount protocol, as a hypervisor writing guest memory would.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "tests/sim/vmclock_sim/abi.hpp"

namespace vmrefclock::sim {

class PageWriter {
  public:
    // Writes `initial` (magic, size, version filled in here; seq_count 0) to a temp file in the
    // same directory, maps it shared and renames it to `path`, so a reader either finds no file
    // or a complete page. Throws std::runtime_error naming the path on failure.
    explicit PageWriter(const std::string& path, const VmclockAbi& initial);
    ~PageWriter();
    PageWriter(const PageWriter&) = delete;
    PageWriter& operator=(const PageWriter&) = delete;

    // Copies every field of `v` except magic/size/version/seq_count into the page: seq_count
    // odd, release fence, fields, release fence, seq_count even.
    // Does nothing while the file is truncated.
    void publish(const VmclockAbi& v);

    // A hostile or broken host: rewrites magic, version and size under the seqcount.
    void set_header(std::uint32_t magic, std::uint16_t version, std::uint32_t size);
    // Truncates the file to 0 bytes (the mapping stays; nothing is written to it until
    // restore()), then makes it a whole page again with a valid header and `v`.
    void truncate();
    void restore(const VmclockAbi& v);

    std::uint32_t seq_count() const;

  private:
    void resize(off_t bytes);

    std::string path_;
    VmclockAbi* page_ = nullptr;
    bool truncated_ = false;
};

}  // namespace vmrefclock::sim

// Owns the page file: creates it whole (tmp + rename) and updates it in place under the ABI's
// seqcount protocol, as a hypervisor writing guest memory would.
#pragma once

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
    void publish(const VmclockAbi& v);

    std::uint32_t seq_count() const;

  private:
    VmclockAbi* page_ = nullptr;
};

}  // namespace vmrefclock::sim

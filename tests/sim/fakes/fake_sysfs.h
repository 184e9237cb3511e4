// A fake /sys + /dev tree in a temporary directory, for discovery tests: PTP clocks as
// <root>/sys/class/ptp/ptpN/clock_name plus <root>/dev/ptpN, and a /dev/vmclock0 file.
#pragma once

#include <string>

#include "tests/support/temp_dir.h"

namespace vmrefclock::fake {

class FakeSysfsTree {
  public:
    FakeSysfsTree();  // a fresh empty tree under /tmp, removed with the object
    FakeSysfsTree(const FakeSysfsTree&) = delete;
    FakeSysfsTree& operator=(const FakeSysfsTree&) = delete;

    // ptp<index> with this clock_name; with_device_node = false leaves /dev/ptpN out
    // (udev not done yet, or a container without the node).
    void add_phc(int index, const std::string& clock_name, bool with_device_node = true);
    // An empty /dev/vmclock0 (its contents are the prober's business).
    void add_vmclock_page(const std::string& name = "vmclock0");

    std::string sysfs_root() const { return root_.file("sys"); }
    std::string dev_root() const { return root_.file("dev"); }
    const std::string& root() const { return root_.path(); }

  private:
    test::TempDir root_{"vmr-sysfs"};
};

}  // namespace vmrefclock::fake

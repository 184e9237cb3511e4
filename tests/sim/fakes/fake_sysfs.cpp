#include "tests/sim/fakes/fake_sysfs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace vmrefclock::fake {

namespace fs = std::filesystem;

FakeSysfsTree::FakeSysfsTree() {
    fs::create_directories(sysfs_root() + "/class/ptp");
    fs::create_directories(dev_root());
}

void FakeSysfsTree::add_phc(int index, const std::string& clock_name, bool with_device_node) {
    const std::string name = "ptp" + std::to_string(index);
    const fs::path dir = fs::path(sysfs_root()) / "class" / "ptp" / name;
    fs::create_directories(dir);
    std::ofstream(dir / "clock_name") << clock_name << "\n";  // sysfs ends it with \n
    if (with_device_node) std::ofstream(fs::path(dev_root()) / name);
}

void FakeSysfsTree::add_vmclock_page(const std::string& name) {
    std::ofstream(fs::path(dev_root()) / name);
}

}  // namespace vmrefclock::fake

#include "filter/sample_filter.h"

#include "filter/robust_filter.h"

namespace vmrefclock {

std::unique_ptr<SampleFilter> make_default_filter() {
    return std::make_unique<RobustFilter>();
}

}  // namespace vmrefclock

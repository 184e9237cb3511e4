#include "tests/sim/lab/basic_filter.h"

#include "filter/robust_filter.h"
#include "tests/sim/lab/least_squares_estimator.h"

namespace vmrefclock::lab {

BasicFilter::BasicFilter() : estimator_(std::make_unique<LeastSquaresEstimator>()) {}

Result<Sample> BasicFilter::process(const Batch& batch) {
    Result<Sample> sample = selector_.select(batch);
    if (sample) estimator_->add(*sample);
    return sample;
}

std::vector<std::string> sample_filter_names() {
    return {"robust", "basic"};
}

Result<std::unique_ptr<SampleFilter>> make_sample_filter(const std::string& name) {
    if (name == "basic") return std::unique_ptr<SampleFilter>(std::make_unique<BasicFilter>());
    if (name == "robust") return std::unique_ptr<SampleFilter>(std::make_unique<RobustFilter>());
    std::string known;
    for (const auto& n : sample_filter_names()) known += (known.empty() ? "" : ", ") + n;
    return make_error("unknown filter \"" + name + "\" (known: " + known + ")");
}

}  // namespace vmrefclock::lab

// BasicFilter, the daemon's v1 method, and the lab's filters by name. No config selects
// BasicFilter any more: it stays here for the tests that want a plain filter (no step
// confirmation of its own, unlike RobustFilter) and for the bench's --filter basic.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "filter/result.h"
#include "filter/sample_filter.h"
#include "filter/types.h"
#include "tests/sim/lab/estimator.h"
#include "tests/sim/lab/sample_selector.h"

namespace vmrefclock::lab {

// v1: the lowest-delay readings of each batch, sent as they are; a least-squares line
// over the window for the estimate.
class BasicFilter : public SampleFilter {
  public:
    BasicFilter();
    Result<Sample> process(const Batch& batch) override;
    std::optional<Estimate> estimate() const override { return estimator_->estimate(); }
    void reset() override { estimator_->reset(); }
    int samples_in_window() const override { return estimator_->size(); }

  private:
    SampleSelector selector_;
    std::unique_ptr<Estimator> estimator_;
};

// The filter names make_sample_filter knows, the daemon's (make_default_filter) first.
std::vector<std::string> sample_filter_names();
Result<std::unique_ptr<SampleFilter>> make_sample_filter(const std::string& name);

}  // namespace vmrefclock::lab

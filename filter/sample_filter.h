// What the daemon runs each poll: a batch in, the sample to send to chrony out, plus the
// model behind it. Several interchangeable filters sit behind this one interface
// (linuxptp's servo model); make_sample_filter picks one by name.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "filter/estimator.h"
#include "filter/result.h"
#include "filter/sample_selector.h"
#include "filter/types.h"

namespace vmrefclock {

class SampleFilter {
  public:
    virtual ~SampleFilter() = default;
    // The sample to send for this poll, or an error saying why there is none.
    virtual Result<Sample> process(const Batch& batch) = 0;
    virtual std::optional<Estimate> estimate() const = 0;
    // A disruption: forget every sample and everything learned from them.
    virtual void reset() = 0;
    virtual int samples_in_window() const = 0;
    // The size of a step of the reference that the last process() confirmed and
    // restarted its model on, if it did. A filter that confirms steps itself rejects
    // the first off sample, so the caller's own step detection never sees the step:
    // this is how the caller learns of it (nullopt from filters that do not).
    virtual std::optional<double> confirmed_step_ns() const { return std::nullopt; }
};

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

// The filter names make_sample_filter knows, the default first.
std::vector<std::string> sample_filter_names();
Result<std::unique_ptr<SampleFilter>> make_sample_filter(const std::string& name);

}  // namespace vmrefclock

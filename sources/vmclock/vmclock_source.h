// The vmclock page as a source of host time and of disruption signals.
#pragma once

#include <memory>
#include <string>

#include "sources/discovery.h"
#include "sources/source.h"
#include "sources/vmclock/counter_rate.h"
#include "sources/vmclock/page_reader.h"

namespace vmrefclock {

// What a page's contents say about using it as UTC: "" when usable, else why not.
std::string vmclock_unusable_reason(const vmclock::PageRead& read);
// The metadata of one read in the pipeline's form.
HostInfo vmclock_host_info(const vmclock::PageRead& read);
// pre-positive -> insert, pre-negative -> delete, anything else -> none.
Leap vmclock_leap(uint8_t leap_indicator);
// The reading in UTC, or nullopt when the page gives no usable time for this counter.
std::optional<Reading> vmclock_reading(const vmclock::PageRead& read);
// Seconds per counter tick as the page publishes it: frac * 2^-(64 + shift).
double vmclock_counter_period_s(const vmclock::CounterCalibration& calibration);
// When the path now names another file than `page` (the page file was deleted and
// created again), opens that one instead; an error when the path names nothing usable.
// The caller keeps `page` as it was on error, and tries again next time.
Status follow_replaced_page(std::unique_ptr<vmclock::VmclockPage>& page);

class VmclockSource : public Source {
  public:
    static Result<std::unique_ptr<VmclockSource>> open(const std::string& path);

    // Up to `readings` readings, all under the same disruption marker: readings taken
    // before a marker change inside the batch are dropped, never mixed with later ones.
    // Re-opens the path first when it names another file than the one open. Fills the
    // batch's counter_rate (the page's period beside the guest's own measurement).
    Result<Batch> poll(int readings) override;
    std::string describe() const override;
    std::string method_name() const override { return "vmclock-page"; }

  private:
    explicit VmclockSource(std::unique_ptr<vmclock::VmclockPage> page) : page_(std::move(page)) {}
    // One bracketed read of the counter against CLOCK_MONOTONIC_RAW; the first poll also
    // waits until the measurement spans kMinMeasurementNs.
    void measure_counter();
    static constexpr int64_t kMinMeasurementNs = 20'000'000;

    std::unique_ptr<vmclock::VmclockPage> page_;
    vmclock::CounterRateMeter meter_;
};

// The page as a disruption signal only (beside a PHC); works for marker-only pages.
class VmclockSignal : public HostSignal {
  public:
    static Result<std::unique_ptr<VmclockSignal>> open(const std::string& path);
    Result<HostInfo> read_host() override;
    std::string describe() const override { return "vmclock page " + page_->path(); }

  private:
    explicit VmclockSignal(std::unique_ptr<vmclock::VmclockPage> page) : page_(std::move(page)) {}
    std::unique_ptr<vmclock::VmclockPage> page_;
};

// Looks at a page without keeping it open, for discovery: a page that opens and reads
// but gives no usable UTC (marker-only, TAI without offset...) is a disruption signal
// only; one that cannot be opened or read has `error` set.
VmclockPageProbe probe_vmclock(const std::string& path);

}  // namespace vmrefclock

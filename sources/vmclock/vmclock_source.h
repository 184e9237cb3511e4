// The vmclock page as a source of host time and of disruption signals.
#pragma once

#include <memory>
#include <optional>
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
    Result<Batch> poll(int readings) override { return poll_new_batch(readings); }
    // The same without allocating once `batch` has held as many readings.
    Status poll_into(int readings, Batch& batch) override;
    // Against the last read of the last poll: one cheap page read (read_signals).
    bool host_signals_changed() override;
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
    std::optional<vmclock::PageSignals> last_signals_;  // of the last poll's last read
};

// The page as a disruption signal only (beside a PHC); works for marker-only pages.
class VmclockSignal : public HostSignal {
  public:
    // `stand_in`: a FIFO whose readability replaces the device's (tests; "" = none).
    static Result<std::unique_ptr<VmclockSignal>> open(const std::string& path,
                                                       const std::string& stand_in = "");
    ~VmclockSignal() override;
    Result<HostInfo> read_host() override;
    // Against the last read_host(): one cheap page read (read_signals).
    bool host_signals_changed() override;
    std::string describe() const override { return "vmclock page " + page_->path(); }
    // The device's fd when the page sets NOTIFICATION_PRESENT: poll() then gives POLLIN
    // on each update (and POLLHUP without the flag).
    int notification_fd() override;
    // A read() of the device marks the update seen (the driver clears POLLIN).
    void acknowledge_notification() override;

  private:
    VmclockSignal(std::unique_ptr<vmclock::VmclockPage> page, int stand_in_fd)
        : page_(std::move(page)), stand_in_fd_(stand_in_fd) {}
    std::unique_ptr<vmclock::VmclockPage> page_;
    int stand_in_fd_ = -1;
    std::optional<vmclock::PageSignals> last_signals_;  // of the last read_host()
};

// Looks at a page without keeping it open, for discovery: a page that opens and reads
// but gives no usable UTC (marker-only, TAI without offset...) is a disruption signal
// only; one that cannot be opened or read has `error` set.
VmclockPageProbe probe_vmclock(const std::string& path);

}  // namespace vmrefclock

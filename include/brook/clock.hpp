// Clock: where brook reads the time.
//
// Timestamps, segment.ms, flush.ms and (later) retention all ask a Clock, never the system
// directly, so tests can inject a ManualClock and move time by hand. Times are milliseconds
// since the Unix epoch, as Kafka's timestamps are.
//
// Thread safety: now_ms() may be called from any thread at once. ManualClock::set_ms and
// advance_ms may race with now_ms.
#pragma once

#include <atomic>
#include <cstdint>

namespace brook {

class Clock {
  public:
    virtual ~Clock() = default;
    // Milliseconds since the Unix epoch.
    virtual std::int64_t now_ms() const noexcept = 0;
};

// The real wall clock (CLOCK_REALTIME).
class SystemClock final : public Clock {
  public:
    std::int64_t now_ms() const noexcept override;

    // A process-wide instance, for use as a default.
    static SystemClock& instance() noexcept;
};

// A clock that only moves when told to. For deterministic tests.
class ManualClock final : public Clock {
  public:
    explicit ManualClock(std::int64_t start_ms = 0) noexcept : now_(start_ms) {}

    std::int64_t now_ms() const noexcept override { return now_.load(std::memory_order_acquire); }
    void set_ms(std::int64_t ms) noexcept { now_.store(ms, std::memory_order_release); }
    void advance_ms(std::int64_t delta) noexcept {
        now_.fetch_add(delta, std::memory_order_acq_rel);
    }

  private:
    std::atomic<std::int64_t> now_;
};

}  // namespace brook

// ChangeNotifier: the version counter that wakes consumers blocked in poll().
//
// Every append, admin change, Consumer::wakeup() and close bumps the version with notify().
// A consumer reads version() before it looks for data and, finding none, calls wait() until
// the version moves. wait() first spins for a short, adaptive while (SpinBudget, at most
// kMaxSpin) re-reading the version, since the next record of a steady stream usually arrives
// within microseconds, and a wake-up through the kernel costs a futex call on the producer and
// a context switch on the consumer. Only then does it park on a condition variable. notify()
// touches the mutex and the condition variable only when a waiter is parked, so an append
// that nobody waits for costs one atomic increment and one load.
//
// Ownership: StoreCore owns one; each Consumer owns its SpinBudget.
// Thread safety: version() and notify() from any thread; wait() from any thread, each with a
// SpinBudget no other thread uses at the same time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace brook::store {

// The longest a waiter spins before it parks. It bounds the CPU a blocked poll() burns when
// nothing arrives: after it, the thread sleeps in the kernel until woken or timed out. 200 µs
// covers a producer that paces records every 50 µs and wakes up to 150 µs late, as threads
// that sleep between records do on a virtual machine: each park costs the next record a
// wake-up of tens of µs (docs/performance.md, item 50).
inline constexpr std::chrono::nanoseconds kMaxSpin = std::chrono::microseconds(200);

// How long one waiter spins, learned from its recent waits: a wait that ended within kMaxSpin
// doubles the budget (spinning would have caught it), a longer one halves it, so a consumer
// fed a steady stream spins and an idle one soon barely does. A change that comes just after
// a long spin (at least kMaxSpin / 2) gave up and the thread parked is the mark of
// oversubscribed CPUs, where the thread that makes the change could not run until the spinner
// stopped: for its next kCooldownWaits waits the waiter then yields the CPU between its checks
// (sched_yield), so the thread that makes the change runs when it shares the spinner's CPU, and
// a change made on another CPU is still seen within a yield rather than a futex wake-up (tens
// of microseconds on a virtual machine).
class SpinBudget {
  public:
    static constexpr int kCooldownWaits = 64;
    // A wake-up this soon after parking counts as "just after the spin gave up".
    static constexpr std::chrono::nanoseconds kStarvedWake = std::chrono::microseconds(40);

    // How long the next wait spins before it parks.
    std::chrono::nanoseconds current() const noexcept { return cooldown_ > 0 ? kMaxSpin : budget_; }
    // Whether the next wait's spin yields the CPU between its checks.
    bool yielding() const noexcept { return cooldown_ > 0; }
    // Records a wait that ended after `waited`, of which the thread slept `parked` (zero when
    // the spin saw the change), with a change or (`changed` false) at its deadline.
    void learn(std::chrono::nanoseconds waited, std::chrono::nanoseconds parked,
               bool changed) noexcept;

  private:
    static constexpr std::chrono::nanoseconds kMinSpin = std::chrono::microseconds(1);
    std::chrono::nanoseconds budget_ = kMaxSpin;
    int cooldown_ = 0;  // waits left that yield while they spin
};

class ChangeNotifier {
  public:
    std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

    // How many waiters are parked (asleep, or about to be) now; for tests.
    std::uint32_t parked() const noexcept { return parked_.load(std::memory_order_acquire); }

    // Bumps the version and wakes every parked waiter.
    void notify() noexcept;

    // Returns once version() != seen, `stop` or `closed` is true, or `deadline` passes,
    // whichever is first; spins for up to spin.current() (never past the deadline) first.
    void wait(std::uint64_t seen, std::chrono::steady_clock::time_point deadline,
              const std::atomic<bool>& stop, const std::atomic<bool>& closed, SpinBudget& spin);

  private:
    bool done(std::uint64_t seen, const std::atomic<bool>& stop,
              const std::atomic<bool>& closed) const noexcept {
        // Sequentially consistent, to pair with notify() (plain loads on x86).
        return version_.load(std::memory_order_seq_cst) != seen ||
               stop.load(std::memory_order_seq_cst) || closed.load(std::memory_order_seq_cst);
    }
    // Spins until done() or `until`, yielding the CPU between checks if `yield`.
    // @return whether done() became true.
    bool spin_until(std::uint64_t seen, std::chrono::steady_clock::time_point until,
                    const std::atomic<bool>& stop, const std::atomic<bool>& closed,
                    bool yield) const noexcept;

    std::atomic<std::uint64_t> version_{0};
    std::atomic<std::uint32_t> parked_{0};  // waiters between their last check and wake-up
    std::mutex mu_;
    std::condition_variable cv_;
};

}  // namespace brook::store

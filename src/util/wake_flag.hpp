// WakeFlag: a flag one thread sleeps on until another sets it, kept in the sleeper's frame.
//
// set() is the setter's last access to the object: once the flag reads set, the waiting thread
// may return and destroy it. On Linux set() stores the flag and then wakes the futex at its
// address, without touching the object again; a wake that lands after the object is gone
// wakes nobody, or another futex later placed at that address spuriously, which every futex
// user tolerates (glibc's own mutexes and semaphores rely on the same). set() makes the wake-up
// system call only if the waiter is asleep, so a flag set before its waiter sleeps costs none.
// Elsewhere it uses std::atomic wait/notify, and the waiter waits for the setter to finish
// notifying.
//
// Thread safety: one waiting thread (wait(), wait_until(), is_set(), reset()) and one setter
// (set()) at a time. reset() re-arms the flag; REQUIRES: no set() of the previous round can
// still run, i.e. the waiter saw it set, or no setter was given the flag.
#pragma once

#include <atomic>
#include <chrono>

namespace brook::util {

class WakeFlag {
  public:
    WakeFlag() = default;
    WakeFlag(const WakeFlag&) = delete;
    WakeFlag& operator=(const WakeFlag&) = delete;

    bool is_set() const noexcept { return state_.load(std::memory_order_acquire) == kSet; }

    void reset() noexcept { state_.store(kClear, std::memory_order_relaxed); }

    // Sleeps until set() has run. Everything the setter wrote before set() is then visible.
    void wait() noexcept { wait_until(std::chrono::steady_clock::time_point::max()); }

    // Sleeps until set() has run or `deadline` has passed (time_point::max(): never).
    // @return is_set().
    bool wait_until(std::chrono::steady_clock::time_point deadline) noexcept;

    // Sets the flag and wakes the waiter if it sleeps. The caller must not touch the object
    // after this.
    void set() noexcept;

  private:
    static constexpr int kClear = 0;
    static constexpr int kSleeping = 1;  // the waiter may be asleep on it
    static constexpr int kWaking = 2;    // without futexes: the setter is still notifying
    static constexpr int kSet = 3;

    std::atomic<int> state_{kClear};
};

}  // namespace brook::util

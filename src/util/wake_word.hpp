// WakeWord: a word that any number of threads sleep on until another thread advances it, which
// wakes them all with one system call.
//
// A sleeper reads value() while it holds whatever lock guards the condition it waits for,
// releases that lock, checks its condition again and calls wait() with the value it read: a
// wake() that comes after the read is never lost, since it changed the value first. wait()
// may also return early (a signal, or another round's wake); the caller checks its condition
// again. Unlike util::WakeFlag, the word outlives its sleepers, so wake() may be called after
// the sleeper it is meant for has returned.
//
// On Linux a futex: wake() costs one system call however many threads sleep, and the caller
// skips it when it knows none does. Elsewhere std::atomic wait/notify, and a timed wait polls.
//
// Thread safety: every method from any number of threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace brook::util {

class WakeWord {
  public:
    WakeWord() = default;
    WakeWord(const WakeWord&) = delete;
    WakeWord& operator=(const WakeWord&) = delete;

    std::uint32_t value() const noexcept { return word_.load(std::memory_order_acquire); }

    // Sleeps while the word is `seen`, until `deadline` (time_point::max(): no limit). May
    // return before either.
    void wait(std::uint32_t seen, std::chrono::steady_clock::time_point deadline) const noexcept;

    // Advances the word and wakes every thread sleeping on it.
    void wake() noexcept;

  private:
    mutable std::atomic<std::uint32_t> word_{0};
};

}  // namespace brook::util

// AccumulatorMutex: the RecordAccumulator's lock, which a Producer takes once per record.
//
// Uncontended, lock() and unlock() are one atomic instruction each, inline; std::mutex calls
// into pthread for both, about 55 instructions per record produced. Contended, lock() spins
// briefly, then sleeps on the atomic (a futex, through std::atomic::wait) until unlock() wakes
// one sleeper. It meets the Lockable requirements, so std::unique_lock and
// std::condition_variable_any work with it. Not recursive, not fair.
//
// Thread safety: lock() and unlock() from any number of threads at once; unlock() only by the
// thread holding it.
#pragma once

#include <atomic>
#include <cstdint>

namespace brook::client {

class AccumulatorMutex {
  public:
    AccumulatorMutex() = default;
    AccumulatorMutex(const AccumulatorMutex&) = delete;
    AccumulatorMutex& operator=(const AccumulatorMutex&) = delete;

    void lock() noexcept {
        if (try_lock()) [[likely]]
            return;
        lock_contended();
    }

    bool try_lock() noexcept {
        std::uint32_t expected = kFree;
        return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                              std::memory_order_relaxed);
    }

    void unlock() noexcept {
        if (state_.exchange(kFree, std::memory_order_release) == kSleepers) [[unlikely]] {
            state_.notify_one();
        }
    }

  private:
    static constexpr std::uint32_t kFree = 0;
    static constexpr std::uint32_t kLocked = 1;    // held, nobody asleep
    static constexpr std::uint32_t kSleepers = 2;  // held, and a thread may be asleep on it

    [[gnu::noinline]] void lock_contended() noexcept {
        // The holder's critical section is short (encoding one record): wait for it awake.
        constexpr int kSpins = 100;
        for (int i = 0; i < kSpins; ++i) {
            if (state_.load(std::memory_order_relaxed) == kFree && try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        // Marks the lock as having sleepers; whoever gets it this way leaves the mark, so its
        // unlock() wakes the next sleeper, if any.
        while (state_.exchange(kSleepers, std::memory_order_acquire) != kFree) {
            state_.wait(kSleepers, std::memory_order_relaxed);
        }
    }

    std::atomic<std::uint32_t> state_{kFree};
};

}  // namespace brook::client

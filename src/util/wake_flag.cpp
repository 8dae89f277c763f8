#include "util/wake_flag.hpp"

#include <thread>

#include "util/futex.hpp"

namespace brook::util {

using std::chrono::steady_clock;

#if defined(__linux__)

static_assert(sizeof(std::atomic<int>) == sizeof(int));

// A bare futex: std::atomic::wait spins and yields first, which on a machine with fewer cores
// than waiting threads takes the CPU from the threads that have work.
bool WakeFlag::wait_until(steady_clock::time_point deadline) noexcept {
    for (;;) {
        int state = state_.load(std::memory_order_acquire);
        if (state == kSet) return true;
        if (state == kClear &&
            !state_.compare_exchange_weak(state, kSleeping, std::memory_order_acquire)) {
            continue;
        }
        if (!futex_wait(&state_, kSleeping, deadline)) return is_set();
    }
}

void WakeFlag::set() noexcept {
    const void* const word = &state_;
    if (state_.exchange(kSet, std::memory_order_release) == kSleeping) {
        // `word` may no longer be this object's: see the header.
        futex_wake(word, 1);
    }
}

#else

bool WakeFlag::wait_until(steady_clock::time_point deadline) noexcept {
    for (;;) {
        const int state = state_.load(std::memory_order_acquire);
        if (state == kSet) return true;
        if (state == kWaking) {
            std::this_thread::yield();  // the setter is between its two stores
            continue;
        }
        if (deadline == steady_clock::time_point::max()) {
            state_.wait(state, std::memory_order_acquire);
            continue;
        }
        if (!sleep_toward(deadline)) return false;
    }
}

void WakeFlag::set() noexcept {
    state_.store(kWaking, std::memory_order_release);
    state_.notify_all();
    state_.store(kSet, std::memory_order_release);
}

#endif

}  // namespace brook::util

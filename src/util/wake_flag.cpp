#include "util/wake_flag.hpp"

#include <algorithm>
#include <thread>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

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
        timespec relative{};
        if (deadline != steady_clock::time_point::max()) {
            const auto now = steady_clock::now();
            if (now >= deadline) return is_set();
            const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
            relative.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
            relative.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
        }
        ::syscall(SYS_futex, reinterpret_cast<int*>(&state_), FUTEX_WAIT_PRIVATE, kSleeping,
                  deadline != steady_clock::time_point::max() ? &relative : nullptr, nullptr, 0);
    }
}

void WakeFlag::set() noexcept {
    int* const word = reinterpret_cast<int*>(&state_);
    if (state_.exchange(kSet, std::memory_order_release) == kSleeping) {
        // `word` may no longer be this object's: see the header.
        ::syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
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
        // Without futexes a timed sleep polls: a flag set early is seen a little late.
        const auto now = steady_clock::now();
        if (now >= deadline) return false;
        std::this_thread::sleep_for(
            std::min<steady_clock::duration>(deadline - now, std::chrono::microseconds(50)));
    }
}

void WakeFlag::set() noexcept {
    state_.store(kWaking, std::memory_order_release);
    state_.notify_all();
    state_.store(kSet, std::memory_order_release);
}

#endif

}  // namespace brook::util

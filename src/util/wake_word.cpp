#include "util/wake_word.hpp"

#include <algorithm>
#include <climits>
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

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

void WakeWord::wait(std::uint32_t seen, steady_clock::time_point deadline) const noexcept {
    if (word_.load(std::memory_order_acquire) != seen) return;
    timespec relative{};
    const bool timed = deadline != steady_clock::time_point::max();
    if (timed) {
        const auto now = steady_clock::now();
        if (now >= deadline) return;
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
        relative.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
        relative.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
    }
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word_), FUTEX_WAIT_PRIVATE, seen,
              timed ? &relative : nullptr, nullptr, 0);
}

void WakeWord::wake() noexcept {
    word_.fetch_add(1, std::memory_order_release);
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word_), FUTEX_WAKE_PRIVATE, INT_MAX,
              nullptr, nullptr, 0);
}

#else

void WakeWord::wait(std::uint32_t seen, steady_clock::time_point deadline) const noexcept {
    if (deadline == steady_clock::time_point::max()) {
        word_.wait(seen, std::memory_order_acquire);
        return;
    }
    // Without futexes a timed sleep polls: a wake is seen a little late.
    while (word_.load(std::memory_order_acquire) == seen) {
        const auto now = steady_clock::now();
        if (now >= deadline) return;
        std::this_thread::sleep_for(
            std::min<steady_clock::duration>(deadline - now, std::chrono::microseconds(50)));
    }
}

void WakeWord::wake() noexcept {
    word_.fetch_add(1, std::memory_order_release);
    word_.notify_all();
}

#endif

}  // namespace brook::util

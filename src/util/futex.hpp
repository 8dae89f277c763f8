// The sleeping primitives under util::WakeFlag and util::WakeWord: a futex on Linux, and
// elsewhere a short timed sleep for the timed waits that std::atomic::wait cannot do.
//
// Thread safety: free functions; any thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

namespace brook::util {

#if defined(__linux__)

// Sleeps while the 32-bit word at `word` holds `expected`, until `deadline`
// (time_point::max(): no limit). May return early (a wake, a signal, a changed word).
// @return false, without sleeping, if the deadline has already passed.
inline bool futex_wait(const void* word, std::uint32_t expected,
                       std::chrono::steady_clock::time_point deadline) noexcept {
    timespec relative{};
    const bool timed = deadline != std::chrono::steady_clock::time_point::max();
    if (timed) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
        relative.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
        relative.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
    }
    ::syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timed ? &relative : nullptr, nullptr,
              0);
    return true;
}

// Wakes up to `count` threads sleeping on the word at `word`. The word need not be alive any
// more: a wake that lands on a freed address wakes nobody, or a later futex there spuriously.
inline void futex_wake(const void* word, int count) noexcept {
    ::syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

#endif

// One step of a timed wait without futexes: sleeps a little (at most 50 µs, so that a wake is
// seen a little late), or not at all once `deadline` has passed.
// @return false if the deadline has passed.
inline bool sleep_toward(std::chrono::steady_clock::time_point deadline) noexcept {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        deadline - now, std::chrono::microseconds(50)));
    return true;
}

}  // namespace brook::util

#include "util/wake_word.hpp"

#include <climits>

#include "util/futex.hpp"

namespace brook::util {

using std::chrono::steady_clock;

#if defined(__linux__)

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

void WakeWord::wait(std::uint32_t seen, steady_clock::time_point deadline) const noexcept {
    if (word_.load(std::memory_order_acquire) != seen) return;
    futex_wait(&word_, seen, deadline);
}

void WakeWord::wake() noexcept {
    word_.fetch_add(1, std::memory_order_release);
    futex_wake(&word_, INT_MAX);
}

#else

void WakeWord::wait(std::uint32_t seen, steady_clock::time_point deadline) const noexcept {
    if (deadline == steady_clock::time_point::max()) {
        word_.wait(seen, std::memory_order_acquire);
        return;
    }
    while (word_.load(std::memory_order_acquire) == seen && sleep_toward(deadline)) {
    }
}

void WakeWord::wake() noexcept {
    word_.fetch_add(1, std::memory_order_release);
    word_.notify_all();
}

#endif

}  // namespace brook::util

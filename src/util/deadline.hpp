// deadline_after: the steady-clock time a timeout from now ends at, for the blocking calls
// (poll, consume, flush) that take a timeout in milliseconds.
//
// Thread safety: a pure function of the clock.
#pragma once

#include <chrono>

namespace brook::util {

// now + timeout; now for a timeout of zero or less; the clock's maximum, never an overflow,
// for a timeout too long to add.
inline std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds timeout) {
    using Clock = std::chrono::steady_clock;
    const auto now = Clock::now();
    if (timeout <= std::chrono::milliseconds::zero()) return now;
    const auto room =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
    return timeout >= room ? Clock::time_point::max() : now + timeout;
}

}  // namespace brook::util

// The latency workload's pacing and timing, shared by every system that runs it, so that each
// is driven and measured the same way: the calling thread sends record after record at a
// steady interval, and a reader thread, blocked until each record arrives, stamps its arrival.
// A record's latency is its arrival stamp minus the send stamp it carries.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "harness.hpp"

namespace brook::bench {

struct PacedStream {
    // Sends record `i`, with now_ns() taken just before it is handed over (once the record is
    // built) in its value's first 8 bytes. Called on the calling thread, in order.
    std::function<void(std::int64_t i)> send;
    // Blocks until record `i` can be read, and returns the send stamp read from it, or nullopt
    // if the record is missing or does not come within seconds. Called on the reader thread,
    // in order.
    std::function<std::optional<std::int64_t>(std::int64_t i)> receive;
    // Called on the calling thread after the last send(), before waiting for the reader.
    std::function<void()> finish = [] {};
};

// The interval between sends: 20,000 records a second.
inline constexpr std::chrono::microseconds kPacedInterval{50};

// Sends `records` records through `stream`, one every kPacedInterval, and returns each one's
// latency. Dies if a receive() fails.
Latencies run_paced_stream(std::int64_t records, const PacedStream& stream);

}  // namespace brook::bench

#include "paced_stream.hpp"

#include <sys/prctl.h>

#include <atomic>
#include <thread>

namespace brook::bench {

Latencies run_paced_stream(std::int64_t records, const PacedStream& stream) {
    Latencies latencies;
    latencies.reserve(static_cast<std::size_t>(records));
    std::atomic<bool> failed{false};
    std::thread reader([&] {
        for (std::int64_t i = 0; i < records; ++i) {
            const std::optional<std::int64_t> sent = stream.receive(i);
            const std::int64_t arrived = now_ns();
            if (!sent) {
                failed = true;
                return;
            }
            latencies.add_ns(arrived - *sent);
        }
    });

    // Linux lets a normal thread's sleep overrun by its timer slack, 50 us by default: without
    // this the sender would wake late, send two records back to back and pace unevenly.
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    auto next = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < records && !failed; ++i) {
        std::this_thread::sleep_until(next);
        next += kPacedInterval;
        stream.send(i);
    }
    stream.finish();
    reader.join();
    if (failed) die("the reader missed a record or timed out");
    return latencies;
}

}  // namespace brook::bench

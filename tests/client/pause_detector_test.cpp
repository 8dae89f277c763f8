// PauseDetector, which decides whether produce() appends a linger.ms = 0 record itself or hands
// it to the sender thread. Each case replays a producer's calls at chosen times: a paced stream
// (a record every 50 µs, each appended in 4 µs), the same stream falling behind, a loop that
// produces as fast as it can, and the switches between them. The expected decision of each
// call is written out from the scenario, not recomputed from the detector's formula.
#include "client/pause_detector.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>

using brook::client::PauseDetector;

namespace {

constexpr std::int64_t kMicro = 1000;
constexpr std::int64_t kAppendNs = 4 * kMicro;  // how long produce()'s own append takes

// Replays a producer's calls and writes down each decision: 'i' for a record appended by
// produce() itself (which then reports appended()), 's' for one handed to the sender.
class Replay {
  public:
    explicit Replay(std::int64_t start_ns) : now_(start_ns) {}

    // One produce() call `gap_ns` after the previous one returned.
    void call(std::int64_t gap_ns) {
        now_ += gap_ns;
        if (detector_.arrived(now_)) {
            now_ += kAppendNs;
            detector_.appended(now_);
            decisions_ += 'i';
        } else {
            now_ += 100;  // queueing a record for the sender
            decisions_ += 's';
        }
    }
    void calls(int n, std::int64_t gap_ns) {
        for (int k = 0; k < n; ++k) call(gap_ns);
    }
    // The decisions since the last take().
    std::string take() { return std::exchange(decisions_, {}); }

  private:
    PauseDetector detector_;
    std::int64_t now_;
    std::string decisions_;
};

}  // namespace

TEST_CASE("the first record and a paced stream are appended by produce() itself") {
    Replay replay(1'000'000 * kMicro);
    replay.call(0);
    CHECK(replay.take() == "i");
    replay.calls(1000, 50 * kMicro - kAppendNs);
    CHECK(replay.take() == std::string(1000, 'i'));
}

TEST_CASE("a paced stream that falls behind and sends records back to back still appends them") {
    // The thread woke `late_us` late: the record due then and the `owed` it missed go at once.
    struct Lateness {
        std::int64_t late_us;
        int owed;
    };
    for (const Lateness& late : {Lateness{100, 2}, Lateness{800, 16}}) {
        CAPTURE(late.late_us);
        Replay replay(0);
        replay.calls(100, 50 * kMicro - kAppendNs);
        replay.call((50 + late.late_us) * kMicro - kAppendNs);
        replay.calls(late.owed, 0);
        replay.calls(100, 50 * kMicro - kAppendNs);
        CHECK(replay.take() == std::string(static_cast<std::size_t>(201 + late.owed), 'i'));
    }
}

TEST_CASE("a paced stream that turns into a fast loop goes to the sender after a short burst") {
    Replay replay(0);
    replay.calls(100, 50 * kMicro - kAppendNs);
    replay.take();
    replay.calls(100, 0);
    const std::string fast = replay.take();
    // The average stays at 20 µs or more for its first call, then 16 more count as the burst
    // of a paced producer; every record after them is batched by the sender.
    CHECK(fast == std::string(17, 'i') + std::string(83, 's'));
}

TEST_CASE("a loop that produces as fast as it can goes to the sender, even across one stall") {
    Replay replay(0);
    // A new producer counts as paced: its first four calls come after a pause (the average
    // starts at 160 µs), then 16 more as its burst, then the sender.
    replay.call(0);
    replay.calls(29, 0);
    CHECK(replay.take() == std::string(20, 'i') + std::string(10, 's'));
    replay.calls(1000, 50);
    CHECK(replay.take() == std::string(1000, 's'));
    // One stall of 30 µs (a preemption): a single gap past the pause does not decide.
    replay.call(30 * kMicro);
    replay.calls(100, 50);
    CHECK(replay.take() == std::string(101, 's'));
}

TEST_CASE("a fast loop that turns into a paced stream is appended by produce() again") {
    Replay replay(0);
    replay.calls(1000, 50);
    replay.take();
    replay.calls(100, 50 * kMicro - kAppendNs);
    const std::string paced = replay.take();
    // Within two records of the stream's 50 µs gaps, and from then on every record.
    CHECK(paced.find('i') <= 1);
    CHECK(paced.substr(2) == std::string(98, 'i'));
}

TEST_CASE("a long idle spell counts no more than a few paced gaps") {
    Replay replay(0);
    replay.calls(10, 0);
    replay.take();
    // An hour of silence, then a burst: after a fast loop, the burst goes to the sender from
    // its fourth record on, as after an idle spell of 160 µs.
    replay.call(3600LL * 1'000'000 * kMicro);
    replay.calls(20, 0);
    CHECK(replay.take() == std::string(3, 'i') + std::string(18, 's'));
}

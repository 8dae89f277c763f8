// util::WakeWord: a wait returns at once when the word moved since it was read, a timed wait
// returns by its deadline, and one wake() rouses every sleeper, which then sees what the waker
// wrote before it. Threads are only waited for on conditions, never for a time.
// Run under ThreadSanitizer by .ci/run.
#include "util/wake_word.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using brook::util::WakeWord;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

TEST_CASE("a wait on a value the word has moved past returns at once") {
    WakeWord word;
    const std::uint32_t seen = word.value();
    word.wake();  // nobody asleep: only the value moves
    CHECK(word.value() != seen);
    word.wait(seen, steady_clock::time_point::max());  // would hang if it slept
}

TEST_CASE("a timed wait nobody wakes returns by its deadline") {
    WakeWord word;
    const auto start = steady_clock::now();
    while (steady_clock::now() < start + 2ms) word.wait(word.value(), start + 2ms);
    CHECK(steady_clock::now() >= start + 2ms);
    word.wait(word.value(), steady_clock::now() - 1s);  // a deadline already past
}

TEST_CASE("one wake rouses every sleeper, which sees what the waker wrote") {
    // Each round, sleepers wait for `round` to reach theirs: the condition, read after the
    // value, as GroupCommit's callers read `released` after reading the word under its lock.
    constexpr int kSleepers = 4;
    constexpr int kRounds = 500;
    WakeWord word;
    std::atomic<int> round{0};
    std::atomic<int> asleep{0};
    int payload = 0;  // written by the waker before each wake, read by the sleepers after
    std::vector<int> seen_payload(kSleepers, 0);
    std::vector<std::thread> sleepers;
    for (int t = 0; t < kSleepers; ++t) {
        sleepers.emplace_back([&, t] {
            for (int r = 1; r <= kRounds; ++r) {
                asleep.fetch_add(1);
                while (true) {
                    const std::uint32_t value = word.value();
                    if (round.load(std::memory_order_acquire) >= r) break;
                    word.wait(value, steady_clock::time_point::max());
                }
                seen_payload[static_cast<std::size_t>(t)] += payload;
            }
        });
    }
    for (int r = 1; r <= kRounds; ++r) {
        // Every sleeper is in round r (it may or may not sleep yet: either way it must wake).
        while (asleep.load() < kSleepers * r) std::this_thread::yield();
        payload = r;
        round.store(r, std::memory_order_release);
        word.wake();
        // The next round's payload is written only once they have all read this one.
        while (asleep.load() < kSleepers * (r + 1) && r < kRounds) std::this_thread::yield();
    }
    for (std::thread& t : sleepers) t.join();
    for (int t = 0; t < kSleepers; ++t) {
        CHECK(seen_payload[static_cast<std::size_t>(t)] == kRounds * (kRounds + 1) / 2);
    }
}

// util::WakeFlag: a waiter returns once the flag is set and sees what the setter wrote before;
// set() is the setter's last access, so the waiter may destroy the flag as soon as it returns
// (the threaded cases destroy it at once, which AddressSanitizer and ThreadSanitizer would
// catch if set() touched it later); an unset flag times out; reset() re-arms it.
// Threads are only waited for on the flag itself, never for a time.
// Run under ThreadSanitizer by .ci/run.
#include "util/wake_flag.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <thread>

using brook::util::WakeFlag;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

TEST_CASE("a flag set before the wait is seen at once") {
    WakeFlag flag;
    CHECK_FALSE(flag.is_set());
    flag.set();
    CHECK(flag.is_set());
    // A deadline already past: no sleep is needed to see it set.
    CHECK(flag.wait_until(steady_clock::now() - 1s));
    flag.wait();
}

TEST_CASE("an unset flag times out at its deadline, and stays usable") {
    WakeFlag flag;
    const auto start = steady_clock::now();
    CHECK_FALSE(flag.wait_until(start + 2ms));
    CHECK(steady_clock::now() >= start + 2ms);
    CHECK_FALSE(flag.wait_until(steady_clock::now() - 1s));
    std::thread setter([&] { flag.set(); });
    flag.wait();
    CHECK(flag.is_set());
    setter.join();
}

TEST_CASE("a waiter woken by another thread sees what it wrote, and may destroy the flag") {
    // Each round's flag and value live in a block the waiter frees as soon as it returns.
    struct Shared {
        int value = 0;
        WakeFlag flag;
    };
    for (int round = 0; round < 2000; ++round) {
        auto shared = std::make_unique<Shared>();
        Shared* s = shared.get();
        std::thread setter([s, round] {
            s->value = round + 1;
            s->flag.set();
        });
        if (round % 2 == 0) {
            s->flag.wait();
        } else {
            while (!s->flag.wait_until(steady_clock::now() + 1ms)) {
            }
        }
        CHECK(s->value == round + 1);
        shared.reset();  // while set() may still be returning
        setter.join();
    }
}

TEST_CASE("reset re-arms a flag for another round") {
    // Two threads take turns: each round the main thread re-arms `ping` before handing the
    // turn over with `pong`, and the other thread answers on `ping`.
    WakeFlag ping;
    WakeFlag pong;
    int turns = 0;
    constexpr int kRounds = 1000;
    std::thread other([&] {
        for (int i = 0; i < kRounds; ++i) {
            pong.wait();
            pong.reset();
            ++turns;
            ping.set();
        }
    });
    for (int i = 0; i < kRounds; ++i) {
        ping.reset();
        pong.set();
        ping.wait();
        CHECK(turns == i + 1);
    }
    other.join();
}

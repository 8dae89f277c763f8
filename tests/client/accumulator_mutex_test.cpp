// AccumulatorMutex, the Producer's per-record lock: mutual exclusion and the ordering of what
// one holder wrote before the next holder reads it (a plain counter and a plain vector, which
// ThreadSanitizer checks), both uncontended and with threads asleep in lock() (a holder that
// keeps it past the spin); and std::condition_variable_any waiting on it, as the sender does.
#include "client/accumulator_mutex.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using brook::client::AccumulatorMutex;
using namespace std::chrono_literals;

TEST_CASE("threads taking AccumulatorMutex in turn see each other's writes, none lost") {
    AccumulatorMutex mu;
    long counter = 0;        // guarded by mu
    std::vector<int> order;  // guarded by mu
    constexpr int kThreads = 4;
    constexpr int kRounds = 20000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
                std::lock_guard lock(mu);
                ++counter;
                if (i % 1000 == 0) order.push_back(t);
            }
        });
    }
    for (std::thread& t : threads) t.join();
    CHECK(counter == kThreads * kRounds);
    CHECK(order.size() == static_cast<std::size_t>(kThreads * (kRounds / 1000)));
}

TEST_CASE("a thread asleep in AccumulatorMutex::lock() is woken by unlock()") {
    AccumulatorMutex mu;
    int value = 0;  // guarded by mu
    mu.lock();
    std::vector<std::thread> waiters;
    std::vector<int> seen(3, -1);
    for (int w = 0; w < 3; ++w) {
        waiters.emplace_back([&, w] {
            std::lock_guard lock(mu);  // spins, then sleeps: the holder keeps it for a while
            seen[w] = value;
            ++value;
        });
    }
    std::this_thread::sleep_for(50ms);  // long enough to be past the spin; nothing races on it
    CHECK_FALSE(mu.try_lock());
    value = 100;
    mu.unlock();
    for (std::thread& t : waiters) t.join();
    std::lock_guard lock(mu);
    CHECK(value == 103);
    for (int s : seen) CHECK(s >= 100);
}

TEST_CASE("std::condition_variable_any waits on AccumulatorMutex") {
    AccumulatorMutex mu;
    std::condition_variable_any cv;
    bool ready = false;  // guarded by mu
    std::thread waiter([&] {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return ready; });
        CHECK(ready);
    });
    {
        std::lock_guard lock(mu);
        ready = true;
    }
    cv.notify_all();
    waiter.join();
    std::unique_lock lock(mu);
    CHECK_FALSE(cv.wait_for(lock, 1ms, [] { return false; }));
}

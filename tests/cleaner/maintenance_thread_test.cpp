// MaintenanceThread's roll-checkpoint requests: served between passes, coalesced while one is
// being served, spaced by the checkpoint interval, never after stop(). The passes' schedule is
// an hour here, so only requests wake the thread; each wait below is for an event, bounded by a
// generous deadline.
#include "cleaner/maintenance_thread.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = 30s;

// Counts the callbacks' calls; a checkpoints call can be held until released.
struct Calls {
    std::mutex mu;
    std::condition_variable cv;
    int passes = 0;
    int checkpoints = 0;
    std::vector<std::chrono::steady_clock::time_point> checkpoint_times;
    bool hold = false;  // a checkpoints call waits while set

    void on_checkpoints() {
        std::unique_lock lock(mu);
        ++checkpoints;
        checkpoint_times.push_back(std::chrono::steady_clock::now());
        cv.notify_all();
        cv.wait(lock, [this] { return !hold; });
    }
    void on_pass() {
        std::lock_guard lock(mu);
        ++passes;
    }
    bool wait_for_checkpoints(int n) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, kDeadline, [&] { return checkpoints >= n; });
    }
};

}  // namespace

TEST_CASE("a checkpoint request is served without a pass, and requests made meanwhile coalesce") {
    Calls calls;
    brook::cleaner::MaintenanceThread thread(
        1h, 1h, 0ms, [&](bool) { calls.on_pass(); }, [&] { calls.on_checkpoints(); });

    thread.request_checkpoints();
    REQUIRE(calls.wait_for_checkpoints(1));

    {
        std::lock_guard lock(calls.mu);
        calls.hold = true;
    }
    thread.request_checkpoints();
    REQUIRE(calls.wait_for_checkpoints(2));  // the second call runs, held
    for (int i = 0; i < 5; ++i) thread.request_checkpoints();
    {
        std::lock_guard lock(calls.mu);
        calls.hold = false;
    }
    calls.cv.notify_all();
    // The five requests made during the held call are served by one more call.
    REQUIRE(calls.wait_for_checkpoints(3));
    thread.stop();
    std::lock_guard lock(calls.mu);
    CHECK(calls.checkpoints == 3);
    CHECK(calls.passes == 0);
}

TEST_CASE("after stop() a checkpoint request calls nothing") {
    Calls calls;
    brook::cleaner::MaintenanceThread thread(
        1h, 1h, 0ms, [&](bool) { calls.on_pass(); }, [&] { calls.on_checkpoints(); });
    thread.stop();
    thread.request_checkpoints();
    thread.stop();
    std::lock_guard lock(calls.mu);
    CHECK(calls.checkpoints == 0);
    CHECK(calls.passes == 0);
}

TEST_CASE("checkpoint calls are at least the checkpoint interval apart") {
    constexpr auto kInterval = 200ms;
    Calls calls;
    brook::cleaner::MaintenanceThread thread(
        1h, 1h, kInterval, [&](bool) { calls.on_pass(); }, [&] { calls.on_checkpoints(); });
    thread.request_checkpoints();  // the first is served at once
    REQUIRE(calls.wait_for_checkpoints(1));
    thread.request_checkpoints();  // the next waits for the interval
    thread.request_checkpoints();
    REQUIRE(calls.wait_for_checkpoints(2));
    thread.stop();
    std::lock_guard lock(calls.mu);
    CHECK(calls.checkpoints == 2);
    CHECK(calls.checkpoint_times[1] - calls.checkpoint_times[0] >= kInterval);
    CHECK(calls.passes == 0);
}

// ChangeNotifier and SpinBudget: a waiter wakes for every notify() whether it is spinning or
// parked, for its stop flag and for the store's closed flag, and otherwise not before its
// deadline; the spin budget grows and shrinks as documented.
#include "store/change_notifier.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace brook::store {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// A budget that has learned to spin as little as it may, so a wait parks at once.
SpinBudget parking_budget() {
    SpinBudget spin;
    for (int i = 0; i < 64; ++i) spin.learn(1s, 1s, true);
    return spin;
}

// A budget in its cooldown: its waits spin for kMaxSpin, yielding between checks.
SpinBudget yielding_budget() {
    SpinBudget spin;
    spin.learn(kMaxSpin + 10us, 10us, true);
    REQUIRE(spin.yielding());
    return spin;
}

// Waits (bounded) until `n` waiters are parked in `notifier`.
void until_parked(const ChangeNotifier& notifier, std::uint32_t n) {
    const auto give_up = SteadyClock::now() + 5s;
    while (notifier.parked() < n && SteadyClock::now() < give_up) std::this_thread::yield();
    REQUIRE(notifier.parked() == n);
}

struct Waited {
    std::chrono::nanoseconds took{};
    std::uint64_t version = 0;
};

TEST_CASE("the spin budget doubles after short waits, halves after long ones, within bounds") {
    SpinBudget spin;
    CHECK(spin.current() == kMaxSpin);
    spin.learn(kMaxSpin * 2, kMaxSpin, true);
    CHECK(spin.current() == kMaxSpin / 2);
    spin.learn(1s, 1s, false);
    CHECK(spin.current() == kMaxSpin / 4);
    spin.learn(kMaxSpin / 4, 0ns, false);  // a timeout shrinks it, however soon it came
    CHECK(spin.current() == kMaxSpin / 8);
    spin.learn(1us, 0ns, true);
    CHECK(spin.current() == kMaxSpin / 4);
    // A change that came later than the budget but within kMaxSpin: spin a little longer
    // than it took. Soon after a short spin, it is no sign of starved CPUs.
    spin.learn(kMaxSpin * 4 / 5, kMaxSpin * 4 / 5 - kMaxSpin / 4, true);
    CHECK(spin.current() == kMaxSpin);
    for (int i = 0; i < 8; ++i) spin.learn(1us, 0ns, true);
    CHECK(spin.current() == kMaxSpin);
    for (int i = 0; i < 64; ++i) spin.learn(1s, 1s, true);
    CHECK(spin.current() > 0ns);
    CHECK(spin.current() <= 1us);
}

TEST_CASE("a change just after a long spin gave up makes the next waits yield as they spin") {
    SpinBudget spin;
    REQUIRE(spin.current() == kMaxSpin);
    REQUIRE_FALSE(spin.yielding());
    spin.learn(kMaxSpin + 10us, 10us, true);
    CHECK(spin.yielding());
    CHECK(spin.current() == kMaxSpin);
    for (int i = 1; i < SpinBudget::kCooldownWaits; ++i) {
        spin.learn(1us, 1us, true);
        CHECK(spin.yielding());
    }
    spin.learn(1us, 1us, true);
    CHECK_FALSE(spin.yielding());
    CHECK(spin.current() == kMaxSpin);
    // A change that came long after parking is no such sign: spinning goes on (halved).
    spin.learn(kMaxSpin + SpinBudget::kStarvedWake + 1us, SpinBudget::kStarvedWake + 1us, true);
    CHECK_FALSE(spin.yielding());
    CHECK(spin.current() == kMaxSpin / 2);
}

TEST_CASE("a parked waiter wakes on notify, on its stop flag and on close") {
    ChangeNotifier notifier;
    std::atomic<bool> stop{false};
    std::atomic<bool> closed{false};
    const std::uint64_t seen = notifier.version();
    Waited waited;
    std::thread waiter([&] {
        SpinBudget spin = parking_budget();
        const auto start = SteadyClock::now();
        notifier.wait(seen, start + 10s, stop, closed, spin);
        waited = {SteadyClock::now() - start, notifier.version()};
    });
    until_parked(notifier, 1);

    SUBCASE("notify") {
        notifier.notify();
        waiter.join();
        CHECK(waited.version == seen + 1);
    }
    SUBCASE("stop flag, then notify as Consumer::wakeup() does") {
        stop.store(true);
        notifier.notify();
        waiter.join();
    }
    SUBCASE("closed flag, then notify as StoreCore::close() does") {
        closed.store(true);
        notifier.notify();
        waiter.join();
    }
    CHECK(waited.took < 5s);
    CHECK(notifier.parked() == 0);
}

TEST_CASE("a wait returns at once for a change or a flag it has not seen yet") {
    ChangeNotifier notifier;
    std::atomic<bool> stop{false};
    std::atomic<bool> closed{false};
    SpinBudget spin = parking_budget();
    const std::uint64_t seen = notifier.version();
    notifier.notify();
    notifier.wait(seen, SteadyClock::time_point::max(), stop, closed, spin);
    stop.store(true);
    notifier.wait(notifier.version(), SteadyClock::time_point::max(), stop, closed, spin);
    stop.store(false);
    closed.store(true);
    notifier.wait(notifier.version(), SteadyClock::time_point::max(), stop, closed, spin);
    CHECK(notifier.parked() == 0);
}

TEST_CASE("a yielding waiter sees a change made by another thread, spinning or parked") {
    ChangeNotifier notifier;
    std::atomic<bool> stop{false};
    std::atomic<bool> closed{false};
    // Rounds alternate between a change made at once (seen in the yielding spin) and one made
    // only once the waiter has parked; every round must end with the waiter on the new version.
    for (int round = 0; round < 20; ++round) {
        const std::uint64_t seen = notifier.version();
        std::atomic<std::uint64_t> saw{seen};
        std::thread waiter([&] {
            SpinBudget spin = yielding_budget();
            notifier.wait(seen, SteadyClock::now() + 10s, stop, closed, spin);
            saw.store(notifier.version());
        });
        if (round % 2 == 1) until_parked(notifier, 1);
        notifier.notify();
        waiter.join();
        CHECK(saw.load() == seen + 1);
    }
    CHECK(notifier.parked() == 0);
}

TEST_CASE("without a change a wait lasts until its deadline, spinning or parked") {
    ChangeNotifier notifier;
    std::atomic<bool> stop{false};
    std::atomic<bool> closed{false};
    SpinBudget spinning;
    SpinBudget parking = parking_budget();
    SpinBudget yielding = yielding_budget();
    for (SpinBudget* spin : {&spinning, &parking, &yielding}) {
        const auto start = SteadyClock::now();
        notifier.wait(notifier.version(), start + 30ms, stop, closed, *spin);
        CHECK(SteadyClock::now() - start >= 30ms);
    }
    // Timeouts taught the spinning budget to spin less.
    CHECK(spinning.current() < kMaxSpin);
    // A deadline shorter than the budget bounds the spin too.
    SpinBudget fresh;
    const auto start = SteadyClock::now();
    notifier.wait(notifier.version(), start + 10us, stop, closed, fresh);
    CHECK(SteadyClock::now() - start >= 10us);
}

// Several waiters, spinning or parked at random moments, each following the version to the
// last notify: none misses a change (each would otherwise sit out its 10 s deadline).
TEST_CASE("no waiter misses a notify among many") {
    constexpr int kWaiters = 3;
    constexpr std::uint64_t kNotifies = 2000;
    ChangeNotifier notifier;
    std::atomic<bool> stop{false};
    std::atomic<bool> closed{false};
    std::atomic<int> timed_out{0};
    std::vector<std::thread> waiters;
    for (int w = 0; w < kWaiters; ++w) {
        waiters.emplace_back([&, w] {
            SpinBudget spin = w == 0 ? SpinBudget() : parking_budget();
            std::uint64_t seen = 0;
            while (seen < kNotifies) {
                notifier.wait(seen, SteadyClock::now() + 10s, stop, closed, spin);
                const std::uint64_t now = notifier.version();
                if (now == seen) ++timed_out;
                seen = now;
            }
        });
    }
    for (std::uint64_t i = 0; i < kNotifies; ++i) {
        notifier.notify();
        if (i % 64 == 0) std::this_thread::sleep_for(50us);
    }
    for (auto& t : waiters) t.join();
    CHECK(timed_out.load() == 0);
    CHECK(notifier.version() == kNotifies);
}

}  // namespace
}  // namespace brook::store

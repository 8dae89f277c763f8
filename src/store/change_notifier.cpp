#include "store/change_notifier.hpp"

#include <algorithm>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace brook::store {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Tells the CPU this is a spin-wait loop: it saves power and yields the core's pipeline to a
// sibling hyper-thread, which may be the producer.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#else
    std::this_thread::yield();
#endif
}

}  // namespace

void SpinBudget::learn(std::chrono::nanoseconds waited, std::chrono::nanoseconds parked,
                       bool changed) noexcept {
    if (cooldown_ > 0) {
        --cooldown_;
        return;
    }
    // After a short spin, a change soon after parking only says to spin longer.
    if (changed && budget_ >= kMaxSpin / 2 && parked > std::chrono::nanoseconds(0) &&
        parked < kStarvedWake) {
        cooldown_ = kCooldownWaits;
        return;
    }
    if (changed && waited <= kMaxSpin) {
        budget_ = std::min(kMaxSpin, std::max(budget_ * 2, waited + waited / 4));
    } else {
        budget_ = std::max(kMinSpin, budget_ / 2);
    }
}

void ChangeNotifier::notify() noexcept {
    // Sequentially consistent with the waiter's parked_ increment and version load: either it
    // sees this version, or this sees it parked (Dekker's pattern).
    version_.fetch_add(1, std::memory_order_seq_cst);
    if (parked_.load(std::memory_order_seq_cst) == 0) return;
    {
        // A waiter that counted itself parked holds mu_ until it sleeps in cv_.wait: taking
        // the mutex once makes sure the notification cannot fall before its wait.
        std::lock_guard lock(mu_);
    }
    cv_.notify_all();
}

bool ChangeNotifier::spin_until(std::uint64_t seen, SteadyClock::time_point until,
                                const std::atomic<bool>& stop, const std::atomic<bool>& closed,
                                bool yield) const noexcept {
    for (;;) {
        for (int i = 0; i < 16; ++i) {
            if (done(seen, stop, closed)) return true;
            cpu_relax();
        }
        if (yield) std::this_thread::yield();
        if (SteadyClock::now() >= until) return done(seen, stop, closed);
    }
}

void ChangeNotifier::wait(std::uint64_t seen, SteadyClock::time_point deadline,
                          const std::atomic<bool>& stop, const std::atomic<bool>& closed,
                          SpinBudget& spin) {
    if (done(seen, stop, closed)) return;
    const auto start = SteadyClock::now();
    if (start >= deadline) return;
    const auto spin_end = deadline - start > spin.current() ? start + spin.current() : deadline;
    if (spin_until(seen, spin_end, stop, closed, spin.yielding())) {
        spin.learn(SteadyClock::now() - start, std::chrono::nanoseconds(0), true);
        return;
    }
    const auto parked_at = SteadyClock::now();
    bool changed = false;
    {
        std::unique_lock lock(mu_);
        parked_.fetch_add(1, std::memory_order_seq_cst);
        changed = cv_.wait_until(lock, deadline, [&] { return done(seen, stop, closed); });
        parked_.fetch_sub(1, std::memory_order_relaxed);
    }
    const auto end = SteadyClock::now();
    spin.learn(end - start, end - parked_at, changed);
}

}  // namespace brook::store

#include "log/group_commit.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace brook::log {

using std::chrono::steady_clock;

// A caller in sync_to(), in its own frame.
struct GroupCommit::Waiter {
    std::int64_t end = 0;
    // Guarded by mu_.
    bool released = false;  // an fsync covered it, or failed
    Status result;          // set when released
    bool parked = false;    // asleep in park(); the leader that will wake it clears this
    // Set under mu_ by the leader that released it while it was parked, before it wakes it:
    // the woken caller then returns `result` without taking mu_.
    bool released_parked = false;
    // How far the leader that wakes a parked caller is: kAsleep before, kWaking while it
    // still touches this object, kWoken once it never will again (the caller may then return).
    std::atomic<int> wake{0};
};

namespace {

constexpr int kAsleep = 0;
constexpr int kWaking = 1;
constexpr int kWoken = 2;

constexpr steady_clock::time_point kNoDeadline = steady_clock::time_point::max();

// Sleeps while `word` holds kAsleep, for at most `timeout` if set; may return early. On Linux
// a bare futex: the standard library's atomic wait spins and yields first, which on a machine
// with fewer cores than waiting threads takes the CPU from the threads that have work.
void sleep_while_asleep(std::atomic<int>& word, std::optional<std::chrono::nanoseconds> timeout) {
#if defined(__linux__)
    static_assert(sizeof(std::atomic<int>) == sizeof(int));
    timespec relative{};
    if (timeout) {
        relative.tv_sec = static_cast<time_t>(timeout->count() / 1'000'000'000);
        relative.tv_nsec = static_cast<long>(timeout->count() % 1'000'000'000);
    }
    ::syscall(SYS_futex, reinterpret_cast<int*>(&word), FUTEX_WAIT_PRIVATE, kAsleep,
              timeout ? &relative : nullptr, nullptr, 0);
#else
    // Without futexes a timed sleep polls: a head released early returns a little late.
    if (timeout) {
        std::this_thread::sleep_for(
            std::min<std::chrono::nanoseconds>(*timeout, std::chrono::microseconds(50)));
    } else {
        word.wait(kAsleep, std::memory_order_acquire);
    }
#endif
}

void wake_one(std::atomic<int>& word) {
#if defined(__linux__)
    ::syscall(SYS_futex, reinterpret_cast<int*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
#else
    word.notify_one();
#endif
}

}  // namespace

std::chrono::nanoseconds GroupCommit::gather_bound() const {
    if (gather_wait_) return *gather_wait_;
    return std::min<std::chrono::nanoseconds>(sync_time_, kMaxGatherWait);
}

Status GroupCommit::sync_to(std::int64_t end, const SyncFn& sync) {
    std::unique_lock lock(mu_);
    if (durable_end_ >= end) return Status::ok();
    if (!error_.is_ok()) return error_;
    Waiter me;
    me.end = end;
    waiting_.push_back(&me);
    while (!me.released) {
        if (leading_ || (head_ != nullptr && head_ != &me && waiting_.size() < expected_)) {
            // An fsync runs, or the head of this gathering starts the next one.
            if (park(lock, me, kNoDeadline)) return me.result;
            continue;
        }
        if (waiting_.size() >= expected_) {
            // Everyone the last fsync released is back (or this caller is alone): go now.
            if (lead(lock, me, sync)) return me.result;
            continue;
        }
        if (head_ == nullptr) {
            head_ = &me;
            gather_deadline_ = steady_clock::now() + gather_bound();
        }
        if (steady_clock::now() >= gather_deadline_) {
            if (lead(lock, me, sync)) return me.result;
            continue;
        }
        if (park(lock, me, gather_deadline_)) return me.result;
    }
    return me.result;
}

bool GroupCommit::park(std::unique_lock<std::mutex>& lock, Waiter& me,
                       steady_clock::time_point deadline) {
    me.parked = true;
    me.wake.store(kAsleep, std::memory_order_relaxed);
    lock.unlock();
    for (;;) {
        const int wake = me.wake.load(std::memory_order_acquire);
        if (wake == kWoken) break;
        if (wake == kWaking) {
            std::this_thread::yield();  // the waker is between its two stores
            continue;
        }
        if (deadline == kNoDeadline) {
            sleep_while_asleep(me.wake, std::nullopt);
            continue;
        }
        const auto now = steady_clock::now();
        if (now < deadline) {
            sleep_while_asleep(me.wake, deadline - now);
            continue;
        }
        lock.lock();
        if (me.parked) {  // no leader is about to wake it: the time is up
            me.parked = false;
            return false;
        }
        lock.unlock();
        deadline = kNoDeadline;  // a leader is about to wake it: wait for that
    }
    if (me.released_parked) return true;
    lock.lock();
    return false;
}

// Wakes a parked caller. The store of kWoken is the last access to it.
void GroupCommit::wake_up(Waiter& w) {
    w.wake.store(kWaking, std::memory_order_release);
    wake_one(w.wake);
    w.wake.store(kWoken, std::memory_order_release);
}

bool GroupCommit::lead(std::unique_lock<std::mutex>& lock, Waiter& me, const SyncFn& sync) {
    leading_ = true;
    head_ = nullptr;
    lock.unlock();

    const auto started = steady_clock::now();
    const Result<std::int64_t> synced = sync();
    const auto took = steady_clock::now() - started;

    lock.lock();
    leading_ = false;
    sync_time_ = sync_time_.count() == 0 ? took : (sync_time_ * 7 + took) / 8;
    expected_ = waiting_.size();
    if (synced.is_ok()) {
        durable_end_ = std::max(durable_end_, *synced);
    } else {
        error_ = synced.status();
    }
    std::vector<Waiter*> to_wake;
    std::erase_if(waiting_, [&](Waiter* w) {
        if (synced.is_ok() && w->end > durable_end_) return false;
        w->released = true;
        w->result = synced.status();
        if (w->parked) {
            w->parked = false;
            w->released_parked = true;
            to_wake.push_back(w);
        }
        return true;
    });
    // Callers that came during the fsync: the first of them keeps the time bound of the next
    // gathering (or starts it at once if they are all back). One that is not parked is awake
    // and will see to it.
    if (!waiting_.empty() && waiting_.front()->parked) {
        waiting_.front()->parked = false;
        to_wake.push_back(waiting_.front());
    }
    const bool done = me.released;
    lock.unlock();
    for (Waiter* w : to_wake) wake_up(*w);
    if (!done) lock.lock();
    return done;
}

std::int64_t GroupCommit::durable_end() const {
    std::lock_guard lock(mu_);
    return durable_end_;
}

std::size_t GroupCommit::waiting() const {
    std::lock_guard lock(mu_);
    return waiting_.size();
}

}  // namespace brook::log

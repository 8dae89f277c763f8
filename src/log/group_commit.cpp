#include "log/group_commit.hpp"

#include <algorithm>
#include <atomic>

namespace brook::log {

using std::chrono::steady_clock;

// A caller in sync_to(), in its own frame.
struct GroupCommit::Waiter {
    std::int64_t end = 0;
    Status result;  // written by the leader that releases it, before `released`
    // Set (under mu_) by the leader that releases it, as its last access to this object: a
    // caller that sees it set returns `result` without taking mu_.
    std::atomic<bool> released{false};
    bool parked = false;  // may be asleep on wake_; guarded by mu_
};

namespace {

constexpr steady_clock::time_point kNoDeadline = steady_clock::time_point::max();

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
    while (!me.released.load(std::memory_order_relaxed)) {
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
    // Read under mu_: a leader that releases this caller later wakes the word past it.
    const std::uint32_t seen = wake_.value();
    lock.unlock();
    while (!me.released.load(std::memory_order_acquire) && wake_.value() == seen &&
           steady_clock::now() < deadline) {
        wake_.wait(seen, deadline);
    }
    if (me.released.load(std::memory_order_acquire)) return true;
    // Woken by a leader that did not release it (it may now have to keep the time bound of
    // the next gathering, or lead), or the time is up: look again under mu_.
    lock.lock();
    me.parked = false;
    if (!me.released.load(std::memory_order_relaxed)) return false;
    lock.unlock();
    return true;
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
    bool done = false;
    bool wake = false;
    std::erase_if(waiting_, [&](Waiter* w) {
        if (synced.is_ok() && w->end > durable_end_) return false;
        if (w == &me) {
            done = true;
            me.result = synced.status();
            return true;
        }
        wake = wake || w->parked;
        w->result = synced.status();
        w->released.store(true, std::memory_order_release);  // the last access to *w
        return true;
    });
    // The first caller it did not cover keeps the time bound of the next gathering (or starts
    // it at once if they are all back): the same wake-up rouses it if it is parked, and the
    // others it did not cover park again.
    if (!waiting_.empty() && waiting_.front()->parked) wake = true;
    lock.unlock();
    if (wake) wake_.wake();
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

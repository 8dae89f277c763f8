#include "log/group_commit.hpp"

#include <algorithm>

#include "util/wake_flag.hpp"

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
    // Set by the leader that wakes it, as its last access to this object.
    util::WakeFlag woken;
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
    me.woken.reset();
    lock.unlock();
    while (!me.woken.wait_until(deadline)) {
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
    for (Waiter* w : to_wake) w->woken.set();  // the last access to *w
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

#include "log/group_commit.hpp"

#include <algorithm>

namespace brook::log {

using std::chrono::steady_clock;

std::chrono::nanoseconds GroupCommit::gather_bound() const {
    if (gather_wait_) return *gather_wait_;
    return std::min<std::chrono::nanoseconds>(sync_time_, kMaxGatherWait);
}

Status GroupCommit::sync_to(std::int64_t end, const SyncFn& sync, int waiters) {
    std::unique_lock lock(mu_);
    if (durable_end_ >= end) return Status::ok();
    if (!error_.is_ok()) return error_;
    waiting_.push_back({end, std::max(waiters, 1)});
    waiting_weight_ += waiting_.back().weight;
    if (gathering_ && waiting_weight_ >= expected_) joined_cv_.notify_one();
    for (;;) {
        // The fsync that covered this caller, or failed, took it out of waiting_.
        if (durable_end_ >= end) return Status::ok();
        if (!error_.is_ok()) return error_;
        if (leading_) {
            synced_cv_.wait(lock);
            continue;
        }
        lead(lock, sync);
    }
}

void GroupCommit::lead(std::unique_lock<std::mutex>& lock, const SyncFn& sync) {
    leading_ = true;
    if (waiting_weight_ < expected_) {
        gathering_ = true;
        joined_cv_.wait_until(lock, steady_clock::now() + gather_bound(),
                              [&] { return waiting_weight_ >= expected_; });
        gathering_ = false;
    }
    lock.unlock();

    const auto started = steady_clock::now();
    const Result<std::int64_t> synced = sync();
    const auto took = steady_clock::now() - started;

    lock.lock();
    leading_ = false;
    sync_time_ = sync_time_.count() == 0 ? took : (sync_time_ * 7 + took) / 8;
    expected_ = waiting_weight_;
    if (synced.is_ok()) {
        durable_end_ = std::max(durable_end_, *synced);
        std::erase_if(waiting_, [&](const Waiter& w) {
            if (w.end > durable_end_) return false;
            waiting_weight_ -= w.weight;
            return true;
        });
    } else {
        error_ = synced.status();
        waiting_.clear();
        waiting_weight_ = 0;
    }
    synced_cv_.notify_all();
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

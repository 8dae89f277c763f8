#include "client/delivery_queue.hpp"

#include <algorithm>
#include <utility>

#include "util/deadline.hpp"

namespace brook::client {

DeliveryReport DeliveryQueue::report_of(const Batch& batch, const Appended& a,
                                        const PendingReport& pending) {
    DeliveryReport report{.topic = batch.partition->topic, .partition = batch.partition->id};
    if (a.status.is_ok()) {
        report.offset = a.base + static_cast<std::int64_t>(pending.index - a.begin);
        report.timestamp = a.log_append_time != -1 ? a.log_append_time : pending.timestamp;
    } else {
        report.error = a.status;
    }
    return report;
}

void DeliveryQueue::deliver(Batch& batch, const std::vector<Appended>& results) {
    std::vector<QueuedReport> queued;
    // The batch's records were moved out when it was encoded; the results cover them all.
    const std::size_t silent = results.back().end - batch.reports.size();
    queued.reserve(batch.reports.size());
    std::size_t r = 0;
    for (PendingReport& pending : batch.reports) {
        while (results[r].end <= pending.index) ++r;
        DeliveryReport report = report_of(batch, results[r], pending);
        if (pending.sink.sync) {
            pending.sink.sync->set(std::move(report));
        } else {
            queued.push_back({std::move(pending.sink.callback), std::move(report)});
        }
    }
    if (queued.empty() && silent == 0) return;
    std::lock_guard lock(mu_);
    for (QueuedReport& q : queued) queued_.push_back(std::move(q));
    silent_ += silent;
    ready_.store(true, std::memory_order_release);
    cv_.notify_all();
}

int DeliveryQueue::poll(std::chrono::milliseconds timeout) {
    // poll(0) after every produce() is the common habit: without reports it costs no lock.
    if (timeout <= std::chrono::milliseconds::zero() && !ready_.load(std::memory_order_acquire)) {
        return 0;
    }
    const auto deadline = util::deadline_after(timeout);
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return !queued_.empty() || silent_ > 0; });
    return run_callbacks(lock);
}

bool DeliveryQueue::wait_all_done(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    while (true) {
        run_callbacks(lock);
        if (outstanding() == 0) return true;
        const bool woke = cv_.wait_until(
            lock, deadline, [&] { return !queued_.empty() || silent_ > 0 || outstanding() == 0; });
        if (!woke) return false;
    }
}

int DeliveryQueue::run_callbacks(std::unique_lock<std::mutex>& lock) {
    if (queued_.empty() && silent_ == 0) return 0;
    std::deque<QueuedReport> ready;
    ready.swap(queued_);
    const std::size_t done = ready.size() + std::exchange(silent_, 0);
    ready_.store(false, std::memory_order_relaxed);
    lock.unlock();
    int called = 0;
    for (QueuedReport& q : ready) {
        if (!q.callback) continue;
        q.callback(q.report);
        ++called;
    }
    lock.lock();
    reported_.fetch_add(done, std::memory_order_acq_rel);
    if (outstanding() == 0) cv_.notify_all();
    return called;
}

}  // namespace brook::client

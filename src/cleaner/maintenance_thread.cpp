#include "cleaner/maintenance_thread.hpp"

#include <algorithm>

namespace brook::cleaner {

MaintenanceThread::MaintenanceThread(std::chrono::milliseconds retention_interval,
                                     std::chrono::milliseconds cleaner_backoff,
                                     std::chrono::milliseconds checkpoint_interval,
                                     std::function<void(bool)> pass,
                                     std::function<void()> checkpoints)
    : retention_interval_(retention_interval),
      cleaner_backoff_(cleaner_backoff),
      checkpoint_interval_(checkpoint_interval),
      pass_(std::move(pass)),
      checkpoints_(std::move(checkpoints)),
      thread_([this] { run(); }) {}

MaintenanceThread::~MaintenanceThread() {
    stop();
}

void MaintenanceThread::request_checkpoints() {
    {
        std::lock_guard lock(mu_);
        ++checkpoint_requests_;
    }
    cv_.notify_all();
}

void MaintenanceThread::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    std::lock_guard join_lock(join_mu_);
    if (thread_.joinable()) thread_.join();
}

void MaintenanceThread::run() {
    using Clock = std::chrono::steady_clock;
    auto next_retention = Clock::now() + retention_interval_;
    auto next_pass = Clock::now() + cleaner_backoff_;
    auto next_checkpoints = Clock::now();
    std::uint64_t served = 0;  // the requests the last checkpoints() call covered
    std::unique_lock lock(mu_);
    for (;;) {
        auto deadline = std::min(next_retention, next_pass);
        if (checkpoint_requests_ != served) deadline = std::min(deadline, next_checkpoints);
        // A new request wakes the thread to look at its deadline again.
        const std::uint64_t requests = checkpoint_requests_;
        cv_.wait_until(lock, deadline,
                       [&] { return stopping_ || checkpoint_requests_ != requests; });
        if (stopping_) return;
        const auto now = Clock::now();
        if (checkpoint_requests_ != served && now >= next_checkpoints) {
            served = checkpoint_requests_;
            lock.unlock();
            checkpoints_();
            lock.lock();
            next_checkpoints = Clock::now() + checkpoint_interval_;
            continue;
        }
        if (now < next_pass && now < next_retention) continue;
        const bool retention = now >= next_retention;
        if (retention) next_retention = now + retention_interval_;
        lock.unlock();
        pass_(retention);
        lock.lock();
        next_pass = Clock::now() + cleaner_backoff_;
    }
}

}  // namespace brook::cleaner

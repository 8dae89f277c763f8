#include "cleaner/maintenance_thread.hpp"

#include <algorithm>

namespace brook::cleaner {

MaintenanceThread::MaintenanceThread(std::chrono::milliseconds retention_interval,
                                     std::chrono::milliseconds cleaner_backoff,
                                     std::function<void(bool)> pass,
                                     std::function<void()> checkpoints)
    : retention_interval_(retention_interval),
      cleaner_backoff_(cleaner_backoff),
      pass_(std::move(pass)),
      checkpoints_(std::move(checkpoints)),
      thread_([this] { run(); }) {}

MaintenanceThread::~MaintenanceThread() {
    stop();
}

void MaintenanceThread::request_checkpoints() {
    {
        std::lock_guard lock(mu_);
        checkpoints_requested_ = true;
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
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait_until(lock, std::min(next_retention, next_pass),
                       [this] { return stopping_ || checkpoints_requested_; });
        if (stopping_) return;
        if (checkpoints_requested_) {
            checkpoints_requested_ = false;
            lock.unlock();
            checkpoints_();
            lock.lock();
            continue;
        }
        const auto now = Clock::now();
        if (now < next_pass && now < next_retention) continue;  // woken early
        const bool retention = now >= next_retention;
        if (retention) next_retention = now + retention_interval_;
        lock.unlock();
        pass_(retention);
        lock.lock();
        next_pass = Clock::now() + cleaner_backoff_;
    }
}

}  // namespace brook::cleaner

#include "cleaner/maintenance_thread.hpp"

#include <algorithm>

namespace brook::cleaner {

MaintenanceThread::MaintenanceThread(std::chrono::milliseconds retention_interval,
                                     std::chrono::milliseconds cleaner_backoff,
                                     std::function<void(bool)> pass)
    : retention_interval_(retention_interval),
      cleaner_backoff_(cleaner_backoff),
      pass_(std::move(pass)),
      thread_([this] { run(); }) {}

MaintenanceThread::~MaintenanceThread() {
    stop();
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
    std::unique_lock lock(mu_);
    for (;;) {
        const auto wake = std::min(next_retention, Clock::now() + cleaner_backoff_);
        if (cv_.wait_until(lock, wake, [this] { return stopping_; })) return;
        const bool retention = Clock::now() >= next_retention;
        if (retention) next_retention = Clock::now() + retention_interval_;
        lock.unlock();
        pass_(retention);
        lock.lock();
    }
}

}  // namespace brook::cleaner

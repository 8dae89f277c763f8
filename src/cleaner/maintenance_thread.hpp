// MaintenanceThread: the store's background thread for retention and compaction.
//
// It calls `pass(retention)` every `cleaner_backoff` (log.cleaner.backoff.ms), with
// `retention` true when `retention_interval` (log.retention.check.interval.ms) has passed
// since the last retention run. Waiting uses the steady clock; what a pass deletes is decided
// by the store's injected Clock. The pass reports its own errors; the thread just goes on.
//
// Ownership: the StoreCore owns it and stops it before closing its logs.
// Thread safety: stop() may be called from any thread, also concurrently; not from a pass.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace brook::cleaner {

class MaintenanceThread {
  public:
    MaintenanceThread(std::chrono::milliseconds retention_interval,
                      std::chrono::milliseconds cleaner_backoff, std::function<void(bool)> pass);
    ~MaintenanceThread();
    MaintenanceThread(const MaintenanceThread&) = delete;
    MaintenanceThread& operator=(const MaintenanceThread&) = delete;

    // Stops the thread after its current pass and joins it. Later calls do nothing.
    void stop();

  private:
    void run();

    const std::chrono::milliseconds retention_interval_;
    const std::chrono::milliseconds cleaner_backoff_;
    const std::function<void(bool)> pass_;
    std::mutex join_mu_;  // held by stop() while it joins
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;  // guarded by mu_
    std::thread thread_;
};

}  // namespace brook::cleaner

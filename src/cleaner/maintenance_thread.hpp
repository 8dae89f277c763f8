// MaintenanceThread: the store's background thread for retention, compaction and the roll
// checkpoints that partition logs leave to it.
//
// It calls `pass(retention)` every `cleaner_backoff` (log.cleaner.backoff.ms), with
// `retention` true when `retention_interval` (log.retention.check.interval.ms) has passed
// since the last retention run. Between passes, request_checkpoints() has it call
// `checkpoints()`, without moving the passes' schedule: at once if `checkpoint_interval`
// (log.flush.offset.checkpoint.interval.ms) has passed since the last such call, else once it
// has. Waiting uses the steady clock; what a pass deletes is decided by the store's injected
// Clock. The callbacks report their own errors; the thread just goes on.
//
// Ownership: the StoreCore owns it and stops it before closing its logs.
// Thread safety: stop() and request_checkpoints() may be called from any thread, also
// concurrently; not from a callback.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace brook::cleaner {

class MaintenanceThread {
  public:
    MaintenanceThread(std::chrono::milliseconds retention_interval,
                      std::chrono::milliseconds cleaner_backoff,
                      std::chrono::milliseconds checkpoint_interval, std::function<void(bool)> pass,
                      std::function<void()> checkpoints);
    ~MaintenanceThread();
    MaintenanceThread(const MaintenanceThread&) = delete;
    MaintenanceThread& operator=(const MaintenanceThread&) = delete;

    // Has the thread call `checkpoints` once it is free and the interval allows. Requests made
    // before that call starts are served by it. After stop() it does nothing.
    void request_checkpoints();

    // Stops the thread after its current pass and joins it. Later calls do nothing.
    void stop();

  private:
    void run();

    const std::chrono::milliseconds retention_interval_;
    const std::chrono::milliseconds cleaner_backoff_;
    const std::chrono::milliseconds checkpoint_interval_;
    const std::function<void(bool)> pass_;
    const std::function<void()> checkpoints_;
    std::mutex join_mu_;  // held by stop() while it joins
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;                  // guarded by mu_
    std::uint64_t checkpoint_requests_ = 0;  // guarded by mu_; counts request_checkpoints()
    std::thread thread_;
};

}  // namespace brook::cleaner

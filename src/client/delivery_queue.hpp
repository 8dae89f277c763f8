// DeliveryQueue: a Producer's delivery reports, on their way from the thread that appended a
// batch to the application's poll() and flush(), and the count of records not reported yet.
//
// A record is counted when produce() takes it (count_produced()) and done once poll() or flush()
// has run its callback, or counted it if it has none: outstanding() is the difference. A
// produce_sync() record is not counted: its report goes straight to its waiting caller.
//
// Ownership: the Producer's Impl owns one; callbacks run on the thread that calls poll() or
// flush(), never under a lock.
// Thread safety: count_produced() only under the Producer's accumulator lock (so it needs no
// atomic read-modify-write); everything else from any thread.
#pragma once

#include <atomic>
#include <brook/producer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "client/batch_appender.hpp"
#include "client/record_accumulator.hpp"

namespace brook::client {

class DeliveryQueue {
  public:
    // Counts a record produced, before its batch can be sealed, appended and reported.
    // REQUIRES: the Producer's accumulator lock held.
    [[gnu::always_inline]] void count_produced(std::size_t records = 1) noexcept {
        produced_.store(produced_.load(std::memory_order_relaxed) + records,
                        std::memory_order_release);
    }

    // Records counted by count_produced() and not yet done.
    std::size_t outstanding() const noexcept {
        // Reported first: a record reported was counted as produced before.
        const std::size_t reported = reported_.load(std::memory_order_acquire);
        return produced_.load(std::memory_order_acquire) - reported;
    }

    // The report of record `pending` of `batch`, whose fate `a` (its range of records) tells.
    static DeliveryReport report_of(const Batch& batch, const Appended& a,
                                    const PendingReport& pending);

    // Hands each report of an appended (and, with acks=all, synced) batch to its
    // produce_sync() caller, or queues it for its callback. A record without a callback gets no
    // report object: it is only counted, and done by the next poll() or flush().
    void deliver(Batch& batch, const std::vector<Appended>& results);

    // Waits up to `timeout` for reports, then runs the queued callbacks on this thread.
    // @return how many callbacks ran.
    int poll(std::chrono::milliseconds timeout);

    // Runs callbacks as reports come until none is outstanding or `deadline` passes.
    // @return whether none is outstanding.
    bool wait_all_done(std::chrono::steady_clock::time_point deadline);

  private:
    struct QueuedReport {
        DeliveryCallback callback;
        DeliveryReport report;
    };

    // Runs every queued callback with the lock released, then counts the records done.
    // REQUIRES: `lock` holds mu_; it holds it again on return.
    int run_callbacks(std::unique_lock<std::mutex>& lock);

    // produced_ is written only under the accumulator's lock; reported_ under mu_.
    std::atomic<std::size_t> produced_{0};
    std::atomic<std::size_t> reported_{0};

    std::mutex mu_;
    std::condition_variable cv_;       // a report was queued or outstanding() reached 0
    std::deque<QueuedReport> queued_;  // guarded by mu_
    std::size_t silent_ = 0;           // done without a callback; guarded by mu_
    // Whether queued_ or silent_ has anything; written under mu_, read by poll(0) without it.
    std::atomic<bool> ready_{false};
};

}  // namespace brook::client

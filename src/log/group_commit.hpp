// GroupCommit: shares the fsyncs of one log between the threads that wait for durability.
//
// Callers of sync_to() wait until everything below their end offset is durable. At most one
// fsync runs at a time. A caller whose end a completed fsync already covers returns at once; a
// caller that arrives while an fsync runs waits for it, and if that fsync did not cover it (it
// started before the caller's append), the next fsync covers it: that one covers everything
// appended by the time it starts. Appends go on during an fsync.
//
// Gathering. With fsyncs back to back, a thread that appends again right after its fsync
// returned finds the next fsync already running, without its record, and waits for the one
// after: N threads split into two groups that alternate, and an fsync covers about N / 2
// records. So the next fsync waits, briefly, for the callers the last fsync released to append
// again: until as many callers are waiting as were waiting when the last fsync ended, or until
// about one fsync's duration (the recent average, at most kMaxGatherWait) has passed since the
// first of them came. The caller whose arrival completes that count runs the fsync itself at
// once, so no thread has to be woken to start it; the first waiting caller keeps the time
// bound. A lone caller never waits; when fewer callers come back than before, the bound runs
// out once and the count then adapts.
// Gathering only delays an fsync; it never acknowledges a caller before an fsync that started
// after its append has succeeded.
//
// Wake-ups. Callers sleep on one util::WakeWord (a futex word on Linux). When an fsync ends,
// its leader marks the callers it covered released and, after releasing the lock, wakes the
// sleepers with one system call (none if no caller is asleep): waking three callers one by one
// took the leader about 20 µs on a 2-vCPU VM, all of it between the fsync and the next one. A
// released caller returns without taking the lock again; a caller the fsync did not cover looks
// again under the lock (the first of them keeps the time bound of the next gathering) and
// sleeps again.
//
// Errors. A failed fsync is final: every caller it would have covered, every caller waiting,
// and every later caller whose end is not already durable gets its error. There is no retry,
// since the kernel may have dropped the unsynced pages (the log fail-stops, see
// partition_log.hpp).
//
// Thread safety: sync_to() may be called from any number of threads at once.
#pragma once

#include <brook/status.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "util/wake_word.hpp"

namespace brook::log {

class GroupCommit {
  public:
    // The longest a gathering waits for callers to join its fsync.
    static constexpr std::chrono::microseconds kMaxGatherWait{1000};

    // `gather_wait`, if set, replaces the adaptive bound on gathering: tests use it to make
    // gathering wait for the callers whatever the timing.
    explicit GroupCommit(std::optional<std::chrono::nanoseconds> gather_wait = std::nullopt)
        : gather_wait_(gather_wait) {}

    // Makes durable everything appended when it is called and returns the end offset of that
    // (everything below it is then durable), or the error of the fsync.
    using SyncFn = std::function<Result<std::int64_t>()>;

    // Returns once everything below `end` is durable, calling `sync` (in this thread) when this
    // caller leads an fsync.
    // REQUIRES: `end` is at most the log end offset when called, so that an fsync started
    // after the call covers it.
    // @return ok; or the error of the fsync that would have covered `end`, or of an earlier one.
    Status sync_to(std::int64_t end, const SyncFn& sync);

    // Everything below this offset is durable.
    std::int64_t durable_end() const;
    // The callers in sync_to() now whose end is not durable yet: for tests, to know that
    // their threads are waiting.
    std::size_t waiting() const;

  private:
    struct Waiter;

    // Runs `sync` with mu_ released, then releases the callers it covered (all of them if it
    // failed) and wakes the sleeping callers after releasing mu_.
    // REQUIRES: `lock` holds mu_ and no fsync runs.
    // @return true if `me` was released (mu_ is then no longer held); false with mu_ held.
    bool lead(std::unique_lock<std::mutex>& lock, Waiter& me, const SyncFn& sync);
    // Sleeps, with mu_ released, until a leader releases `me` or wakes the callers, or
    // `deadline` passes (max(): never).
    // REQUIRES: `lock` holds mu_.
    // @return true if `me` was released (mu_ is then no longer held); false with mu_ held.
    bool park(std::unique_lock<std::mutex>& lock, Waiter& me,
              std::chrono::steady_clock::time_point deadline);
    // How long a gathering may wait for callers to join. REQUIRES: mu_ held.
    std::chrono::nanoseconds gather_bound() const;

    const std::optional<std::chrono::nanoseconds> gather_wait_;
    mutable std::mutex mu_;
    bool leading_ = false;  // an fsync runs
    std::int64_t durable_end_ = 0;
    Status error_;
    // The callers in sync_to() that no fsync has covered yet, the leader too; each lives in
    // its caller's frame.
    std::vector<Waiter*> waiting_;
    std::size_t expected_ = 0;  // waiting_.size() when the last fsync ended
    // The waiting caller that starts the next fsync when gathering runs out of time (at
    // gather_deadline_), or null.
    Waiter* head_ = nullptr;
    std::chrono::steady_clock::time_point gather_deadline_;
    // The average duration of recent fsyncs (an exponential moving average).
    std::chrono::nanoseconds sync_time_{0};
    // Where parked callers sleep; a leader wakes it once it has released the callers it covered.
    util::WakeWord wake_;
};

}  // namespace brook::log

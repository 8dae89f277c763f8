// GroupCommit: shares the fsyncs of one log between the threads that wait for durability.
//
// Callers of sync_to() wait until everything below their end offset is durable. At most one
// fsync runs at a time. A caller whose end a completed fsync already covers returns at once; a
// caller that arrives while an fsync runs waits for it, and if that fsync did not cover it (it
// started before the caller's append), one of the callers still waiting leads the next fsync,
// which covers everything appended by the time it starts. Appends go on during an fsync.
//
// Gathering. With fsyncs back to back, a thread that appends again right after its fsync
// returned finds the next fsync already running, without its record, and waits for the one
// after: N threads split into two groups that alternate, and an fsync covers about N / 2
// records. So a leader first waits, briefly, for the callers the last fsync released to append
// again: until as many callers are waiting as were waiting when the last fsync ended (itself
// included; a caller counts as the threads it syncs for), or until about one fsync's duration
// (the recent average, at most kMaxGatherWait) has passed. A lone caller never waits; when
// fewer callers come back than before, the leader waits out the bound once and the count then
// adapts. Gathering only delays an fsync; it never acknowledges a
// caller before an fsync that started after its append has succeeded.
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
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace brook::log {

class GroupCommit {
public:
    // The longest a leader waits for callers to join its fsync.
    static constexpr std::chrono::microseconds kMaxGatherWait{1000};

    // `gather_wait`, if set, replaces the adaptive bound on gathering: tests use it to make
    // gathering wait for the callers whatever the timing.
    explicit GroupCommit(std::optional<std::chrono::nanoseconds> gather_wait = std::nullopt)
        : gather_wait_(gather_wait) {}

    // Makes durable everything appended when it is called and returns the end offset of that
    // (everything below it is then durable), or the error of the fsync.
    using SyncFn = std::function<Result<std::int64_t>()>;

    // Returns once everything below `end` is durable, calling `sync` (in this thread) when this
    // caller leads an fsync. `waiters` is how many threads wait for this call (a thread that
    // appended other threads' records and syncs for them counts them too): gathering expects
    // that many to come back.
    // REQUIRES: `end` is at most the log end offset when called, so that an fsync started
    // after the call covers it.
    // @return ok; or the error of the fsync that would have covered `end`, or of an earlier one.
    Status sync_to(std::int64_t end, const SyncFn& sync, int waiters = 1);

    // Everything below this offset is durable.
    std::int64_t durable_end() const;
    // The callers in sync_to() now whose end is not durable yet: for tests, to know that
    // their threads are waiting.
    std::size_t waiting() const;

private:
    // Gathers callers, runs `sync` with mu_ released and releases the callers it covered.
    // REQUIRES: `lock` holds mu_ and no caller is leading.
    void lead(std::unique_lock<std::mutex>& lock, const SyncFn& sync);
    // How long a leader may wait for callers to join. REQUIRES: mu_ held.
    std::chrono::nanoseconds gather_bound() const;

    const std::optional<std::chrono::nanoseconds> gather_wait_;
    mutable std::mutex mu_;
    std::condition_variable synced_cv_;  // an fsync finished: waiters check their end
    std::condition_variable joined_cv_;  // enough callers joined a gathering leader
    bool leading_ = false;               // a caller is gathering or running an fsync
    bool gathering_ = false;             // the leader waits in joined_cv_
    std::int64_t durable_end_ = 0;
    Status error_;
    struct Waiter {
        std::int64_t end = 0;
        int weight = 1;  // the `waiters` of its call
    };
    // The callers in sync_to() that no fsync has covered yet, the leader too.
    std::vector<Waiter> waiting_;
    int waiting_weight_ = 0;  // the sum of their weights
    int expected_ = 0;        // waiting_weight_ when the last fsync ended
    // The average duration of recent fsyncs (an exponential moving average).
    std::chrono::nanoseconds sync_time_{0};
};

}  // namespace brook::log

// ReadAhead: a consumer's background thread that reads a partition's next batches while the
// consumer's own thread decodes and hands out the current ones, as Kafka's consumer sends its
// next fetch before returning the records of the last one.
//
// A consumer that has read a partition twice in a row from where the last read ended (a
// sequential scan, not a seek), the second read at least half of max.partition.fetch.bytes (not
// cut short by the log end), asks for the following read as soon as it has the current one.
// That read is a plain PartitionLog::read_raw_into into a buffer of the consumer's FetchPool, of
// the same offset, size and isolation the consumer would ask for next: taking it later changes
// no record returned, only when the copy happened. A log's batches never change once written;
// compaction and retention can only remove records, which Kafka's consumer would also still
// return from a fetch it already holds.
//
// The consumer takes a read only if its position is still where the read starts, and then
// waits for it if it is not done. A read that failed is dropped, and the consumer reads again
// itself, so that an error reaches the caller exactly as without reading ahead. A read that is
// no longer wanted (after a seek, an unassign, or its AheadRead being dropped) is skipped if it
// has not started, and its buffer goes back to the pool.
//
// The thread starts with the first read asked for and ends when the ReadAhead is destroyed,
// after finishing the read it is doing (at most max.partition.fetch.bytes). Reads are done in
// the order asked, one at a time. If a thread cannot be started, no read is done ahead.
//
// Ownership: a PartitionFetch owns its ReadAhead; an AssignedPartition owns the AheadRead of
// its next read, shared with the thread until the read is done. Thread safety: start() and
// take() are called under the consumer's lock, by one thread at a time; the queue is guarded by
// the ReadAhead's mutex, and a read is handed back through its util::WakeFlag.
#pragma once

#include <atomic>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "client/fetched_records.hpp"
#include "log/partition_log.hpp"
#include "store/store_core.hpp"

namespace brook::client {

struct AheadJob;

// A read asked of a ReadAhead, owned by the partition that will take it. Dropping it (or
// assigning over it) tells the thread that the read is no longer wanted.
class AheadRead {
  public:
    AheadRead() = default;
    explicit AheadRead(std::shared_ptr<AheadJob> job) noexcept : job_(std::move(job)) {}
    AheadRead(AheadRead&&) noexcept = default;
    AheadRead& operator=(AheadRead&& other) noexcept;
    AheadRead(const AheadRead&) = delete;
    AheadRead& operator=(const AheadRead&) = delete;
    ~AheadRead() { abandon(); }

    explicit operator bool() const noexcept { return static_cast<bool>(job_); }
    // The offset the read starts at. REQUIRES: a read is held.
    Offset from() const noexcept;

  private:
    friend class ReadAhead;
    void abandon() noexcept;

    std::shared_ptr<AheadJob> job_;
};

class ReadAhead {
  public:
    ReadAhead() = default;
    ReadAhead(const ReadAhead&) = delete;
    ReadAhead& operator=(const ReadAhead&) = delete;
    // Finishes the read in progress, skips the others and joins the thread.
    ~ReadAhead();

    // Asks for a read of `state`'s log from `from`, of up to `max_bytes` at `isolation`, into
    // `bytes`, starting the thread if it is not running.
    // @return the read, or an empty AheadRead if the thread could not be started.
    AheadRead start(std::shared_ptr<detail::PartitionState> state, Offset from,
                    std::size_t max_bytes, log::Isolation isolation, FetchedBytesRef bytes);

    // Waits for `read` to be done and takes its bytes, leaving `read` empty.
    // REQUIRES: `read` holds a read that came from this ReadAhead.
    // @return the bytes read, or an empty ref if the read failed.
    FetchedBytesRef take(AheadRead& read);

  private:
    void run();

    std::mutex mu_;  // guards queue_ and stopping_
    std::condition_variable queued_;
    std::deque<std::shared_ptr<AheadJob>> queue_;
    std::atomic<std::size_t> queued_count_{0};  // queue_.size(), for the thread's spin
    bool stopping_ = false;
    std::thread thread_;  // started by the first start()
};

}  // namespace brook::client

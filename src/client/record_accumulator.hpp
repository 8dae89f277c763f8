// RecordAccumulator: a Producer's per-partition batches, and the order they are sent in.
//
// Each partition a producer writes to has at most one open batch, which records are added to,
// and a queue of sealed batches waiting to be appended. A batch is sealed when it is full, when
// it has lingered linger.ms, on flush, or before a produce_sync record so that record follows
// the ones queued before it. Sealed batches of one partition are appended strictly in the
// order they were sealed: drain() makes the calling thread append them unless another thread
// is already doing so for that partition, in which case that thread will. It hands over every
// batch queued at that moment in one call, so that one fsync can cover them all.
// This keeps per-partition order without holding any lock across an append.
//
// Linger uses std::chrono::steady_clock, not the store's injectable Clock: it bounds latency
// in real time, while the store Clock only decides record timestamps.
//
// Thread safety: every method may be called from any number of threads at once.
#pragma once

#include <brook/message.hpp>
#include <brook/producer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "log/record_batch.hpp"
#include "store/store_core.hpp"

namespace brook::client {

// Where one record's delivery report goes: a callback for produce(), or the promise that
// produce_sync() waits on.
struct ReportSink {
    DeliveryCallback callback;
    std::shared_ptr<std::promise<DeliveryReport>> sync;
};

struct Batch {
    std::shared_ptr<detail::PartitionState> partition;
    std::int32_t partition_count = 0;  // of the topic when the batch was opened
    log::Compression compression = log::Compression::none;
    std::vector<log::Record> records;
    std::vector<ReportSink> sinks;  // one per record, in the same order
    std::size_t estimated_bytes = 0;
    std::chrono::steady_clock::time_point created;
};

// What a record is added to: the partition it goes to and how its batch is encoded.
struct BatchTarget {
    std::shared_ptr<detail::PartitionState> partition;
    std::int32_t partition_count = 0;
    log::Compression compression = log::Compression::none;
};

class RecordAccumulator {
  public:
    using SealHook = std::function<void(const Batch&)>;
    // Appends the batches, in order. They are all for the same partition key.
    using SendFn = std::function<void(std::vector<Batch>&)>;

    // `on_seal` runs (under the accumulator's lock) each time a batch is sealed; the producer
    // uses it to move sticky partitioning on. It must not call back into the accumulator.
    RecordAccumulator(std::chrono::milliseconds linger, std::size_t batch_size, SealHook on_seal);

    RecordAccumulator(const RecordAccumulator&) = delete;
    RecordAccumulator& operator=(const RecordAccumulator&) = delete;

    // Adds a record of about `bytes` bytes to the open batch of its partition, opening one if
    // needed. Seals the batch if it reaches batch.size or `seal_now` is set.
    // @return true if a batch of this partition was sealed, so the caller should drain() it.
    bool add(const TopicPartition& key, const BatchTarget& target, log::Record record,
             ReportSink sink, std::size_t bytes, bool seal_now);

    // Seals the partition's open batch, if any, then queues `record` as a batch of its own.
    // The caller then drains the partition.
    void add_alone(const TopicPartition& key, const BatchTarget& target, log::Record record,
                   ReportSink sink, std::size_t bytes);

    // Seals every open batch. @return the partitions that have batches to drain.
    std::vector<TopicPartition> seal_all();

    // Blocks until some open batch has lingered linger.ms, then seals every batch that has.
    // @return the partitions to drain; empty once stop() was called.
    std::vector<TopicPartition> wait_for_due();

    // Makes wait_for_due() return at once, now and from then on.
    void stop();

    // Appends the partition's sealed batches with `send`, in order, unless another thread is
    // already draining this partition (it then appends them too). Each call of `send` gets all
    // the batches sealed since the previous one.
    void drain(const TopicPartition& key, const SendFn& send);

  private:
    struct Slot {
        std::optional<Batch> open;
        std::deque<Batch> sealed;
        bool draining = false;
    };

    // REQUIRES: mu_ held and slot.open set.
    void seal(Slot& slot);
    // Opens a batch for `target` in `slot`, sealing an open one for a deleted and re-created
    // topic first. REQUIRES: mu_ held.
    Batch& open_batch(Slot& slot, const BatchTarget& target);

    const std::chrono::milliseconds linger_;
    const std::size_t batch_size_;
    const SealHook on_seal_;

    std::mutex mu_;
    std::condition_variable due_cv_;        // wakes wait_for_due() on a new batch or stop
    std::map<TopicPartition, Slot> slots_;  // Guarded by mu_.
    bool stopped_ = false;                  // Guarded by mu_.
};

}  // namespace brook::client

// RecordAccumulator: a Producer's per-partition batches, and the order they are sent in.
//
// Each partition a producer writes to has at most one open batch, which records are added to,
// and a queue of sealed batches waiting to be appended. A batch is sealed when it is full, when
// it has lingered linger.ms, on flush, or before a produce_sync record so that record follows
// the ones queued before it. With linger.ms = 0 a batch is due as soon as it opens, as in
// Kafka: the sender thread seals and appends it at once, and records added while the sender is
// busy appending join the next open batch, so a fast producer gets batches without waiting.
// Sealed batches of one partition are appended strictly in the order they were sealed: drain()
// makes the calling thread append them unless another thread is already doing so for that
// partition, in which case that thread will. It hands over every batch queued at that moment in
// one call, so that one fsync can cover them all. This keeps per-partition order without
// holding any lock across an append.
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
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/accumulator_mutex.hpp"
#include "client/buffer_memory.hpp"
#include "client/sync_report.hpp"
#include "log/batch_builder.hpp"
#include "log/format.hpp"
#include "log/record_batch.hpp"
#include "store/store_core.hpp"

namespace brook::client {

// Where one record's delivery report goes: a callback for produce(), or the SyncReport that
// produce_sync() waits on (in its frame: set it exactly once, then never touch it).
struct ReportSink {
    DeliveryCallback callback;
    SyncReport* sync = nullptr;
};

// A record of a batch that gets a report object (it has a callback, or came from
// produce_sync()): its index in the batch, its own timestamp and where its report goes.
// Records produced without a callback have none: they are only counted.
struct PendingReport {
    std::uint32_t index = 0;
    std::int64_t timestamp = 0;
    ReportSink sink;
};

struct Batch {
    std::shared_ptr<detail::PartitionState> partition;
    std::int32_t partition_count = 0;  // of the topic when the batch was opened
    log::Compression compression = log::Compression::none;
    log::BatchBuilder records;           // encoded as they were added
    std::vector<PendingReport> reports;  // in index order
    std::chrono::steady_clock::time_point created;
    std::size_t share = 0;  // the bytes it takes of buffer.memory (client/buffer_memory.hpp)
};

// What a record is added to: the partition it goes to and how its batch is encoded.
struct BatchTarget {
    // Into the topic snapshot the caller holds (not copied per record): only a new batch
    // takes a reference of its own.
    const std::shared_ptr<detail::PartitionState>* partition = nullptr;
    std::int32_t partition_count = 0;
    log::Compression compression = log::Compression::none;
    // A record that would take the batch above this many bytes (uncompressed, header
    // included) goes to a new batch instead: the topic's max.message.bytes.
    std::size_t max_batch_bytes = 0;
};

// A record as produce() takes it, whichever public form it came in (a ProducerRecord, or the
// caller's buffers): views of its topic, key, value and headers, valid for the call. Its bytes
// are copied once, into its partition's open batch.
struct RecordRef {
    std::string_view topic;
    log::BatchBuilder::Bytes key;
    log::BatchBuilder::Bytes value;  // nullopt: a tombstone
    std::span<const Header> headers;
    std::optional<std::int64_t> timestamp;
    std::optional<PartitionId> partition;

    static RecordRef of(const ProducerRecord& r) noexcept {
        return {r.topic,
                log::BatchBuilder::view(r.key),
                log::BatchBuilder::view(r.value),
                r.headers,
                r.timestamp,
                r.partition};
    }
};

// A record to add: the producer's record (its key, value and headers are encoded into the
// batch), its timestamp and BatchBuilder::fields_size() of it.
struct RecordToAdd {
    const RecordRef& record;
    std::int64_t timestamp = 0;
    std::size_t fields = 0;
};

class RecordAccumulator;

// The buffer.memory shares of the batches that one call of drain()'s `send` appends. `send`
// gives them back once the batches are appended and before it reports any of their records,
// so a caller that has seen its records' reports (flush() returned, or produce_sync()) finds
// that room free. drain() gives back whatever `send` did not.
class DrainedShares {
  public:
    DrainedShares(const DrainedShares&) = delete;
    DrainedShares& operator=(const DrainedShares&) = delete;

    // Gives the shares back and wakes the produce() calls waiting for room. Later calls do
    // nothing. Takes the accumulator's lock. REQUIRES: the caller does not hold it.
    void give_back();

  private:
    friend class RecordAccumulator;
    DrainedShares(RecordAccumulator& accumulator, std::size_t bytes)
        : accumulator_(accumulator), bytes_(bytes) {}

    RecordAccumulator& accumulator_;
    std::size_t bytes_;
};

class RecordAccumulator {
  public:
    using Lock = std::unique_lock<AccumulatorMutex>;
    using SealHook = std::function<void(const Batch&)>;
    // Appends the batches, in order, and gives `shares` back once they are appended (see
    // DrainedShares). They are all for the same partition key. It may return what is left to do
    // for them once other threads may append to the partition again (with acks=all: waiting for
    // the fsync and delivering the reports); drain() runs that after it has released the
    // partition.
    using SendFn = std::function<std::function<void()>(std::vector<Batch>&, DrainedShares& shares)>;

    // `on_seal` runs (under the accumulator's lock) each time a batch is sealed; the producer
    // uses it to move sticky partitioning on. It must not call back into the accumulator.
    // REQUIRES: batch_size <= buffer_memory.
    RecordAccumulator(std::chrono::milliseconds linger, std::size_t batch_size,
                      std::size_t buffer_memory, SealHook on_seal);

    RecordAccumulator(const RecordAccumulator&) = delete;
    RecordAccumulator& operator=(const RecordAccumulator&) = delete;

    // Locks the accumulator. The producer resolves a record's topic and partition under this
    // same lock (its topic cache is guarded by it), then hands it to one of the add calls
    // below, which release it: one lock per record.
    Lock lock() { return Lock(mu_); }

    // The add calls take the lock from lock() and release it. `topic` and `partition` name the
    // record's partition (the key drain() takes). A sink without a callback or SyncReport is not
    // kept.

    // Encodes a record into the open batch of its partition, opening one if needed (which
    // wakes wait_for_due() only if the new batch is due before the time it sleeps until).
    // Seals the open batch first if the record would take it past target.max_batch_bytes,
    // and seals it after if it reaches batch.size.
    // @return the partition to drain() if a batch of it was sealed, else nullopt.
    std::optional<TopicPartition> add(Lock lock, const std::string& topic, PartitionId partition,
                                      const BatchTarget& target, const RecordToAdd& record,
                                      ReportSink&& sink);

    // Whether records of `fields` bytes (BatchBuilder::fields_size()) for the partition need
    // a new batch that buffer.memory has no room for. With `may_join_open`, a record that fits
    // in the partition's open batch needs none (add(), add_and_seal()); without, the call
    // always opens one (add_alone(), and add_all(), whose records are not sized before they
    // are encoded: it passes 0).
    // @return the share of buffer.memory the new batch would take; 0 if the records can be
    //         added now.
    // REQUIRES: the lock from lock() held.
    std::size_t room_missing(const std::string& topic, PartitionId partition,
                             const BatchTarget& target, std::size_t fields, bool may_join_open);

    // Waits, with `lock` released, until buffer.memory has room for a share of `bytes` (as
    // room_missing() gave) or `deadline` passes. Meanwhile the sender seals every open batch
    // as soon as it opens, as if linger.ms were 0, so that lingering batches are appended and
    // give their shares back.
    // @return whether there is room. REQUIRES: `lock` is the lock from lock(), held.
    bool wait_for_room(Lock& lock, std::size_t bytes,
                       std::chrono::steady_clock::time_point deadline);

    // The bytes of buffer.memory the batches not yet appended hold now, for messages.
    // REQUIRES: the lock from lock() held.
    std::size_t memory_taken() const { return memory_.taken(); }

    // What add_to_last() did.
    enum class LastAdd {
        missed,  // nothing: the caller uses add()
        added,   // encoded into the open batch
        sealed,  // encoded, and the batch reached batch.size and was sealed: drain() it
    };

    // add() for the common case, under the caller's lock: the slot found last has an open
    // batch for target.partition, and the record fits in it below target.max_batch_bytes.
    // Encodes the record there (taking `callback` if it is set), and seals the batch if it
    // reached batch.size. Never opens a batch, so it never needs to wake the sender.
    // REQUIRES: the lock from lock() held; the caller releases it.
    // Inline: it runs once per record produced.
    [[gnu::always_inline]] LastAdd add_to_last(const BatchTarget& target, const RecordToAdd& record,
                                               DeliveryCallback& callback) {
        if (!has_last_slot_) return LastAdd::missed;
        Slot& slot = last_slot_->second;
        if (!slot.open || slot.open->partition != *target.partition) return LastAdd::missed;
        Batch& batch = *slot.open;
        if (batch.records.size_bytes() + record.fields + log::BatchBuilder::kMaxRecordOverhead >
            target.max_batch_bytes) {
            return LastAdd::missed;
        }
        encode(batch, record);
        // Most records have no callback: no report object is built for them.
        if (callback) [[unlikely]] {
            add_report(batch, record, ReportSink{std::move(callback), nullptr});
        }
        if (batch.records.size_bytes() - log::format::kBatchHeaderSize < batch_size_) {
            return LastAdd::added;
        }
        seal(slot);
        return LastAdd::sealed;
    }

    // Adds `record` to the partition's open batch (opening one if needed, or if the record would
    // take it past target.max_batch_bytes) and seals it at once, without waking the sender: the
    // caller drains the partition itself.
    // @return the partition to drain().
    TopicPartition add_and_seal(Lock lock, const std::string& topic, PartitionId partition,
                                const BatchTarget& target, const RecordToAdd& record,
                                ReportSink&& sink);

    // The records of a produce_batch() call, routed together (TopicRouter::route_batch()).
    struct RecordsToAdd {
        std::span<const BatchRecord> records;
        std::int64_t timestamp = 0;  // for records without one
    };

    // What add_all() did.
    struct AllAdded {
        std::optional<TopicPartition> to_drain;  // a batch of it was sealed: drain() it
        // Not zero: the records do not fit in a batch of their own below
        // target.max_batch_bytes, and none of them was queued; they take at least this many
        // bytes (encoding stops at the first record past the limit).
        std::size_t refused_bytes = 0;
        bool wake_sender = false;  // the caller calls wake_sender() once it released the lock
    };

    // Encodes `records` into one batch of the partition: its open batch if they fit in it
    // below target.max_batch_bytes, else a new one (sealing the open batch first), or nowhere
    // if they do not fit alone. Each gets a copy of `callback`, if set. Seals the batch if it
    // reached batch.size, or at once with `seal_now` (then without waking the sender: the
    // caller drains the partition itself). Unlike the other add calls it keeps the lock, so
    // that the caller can count the records as produced under it only if they were taken.
    // REQUIRES: `lock` is the lock from lock(), held.
    AllAdded add_all(Lock& lock, const std::string& topic, PartitionId partition,
                     const BatchTarget& target, const RecordsToAdd& records,
                     const DeliveryCallback& callback, bool seal_now);

    // Wakes the sender thread, as add_all() asks. REQUIRES: the lock not held.
    void wake_sender();

    // Seals the partition's open batch, if any, then queues `record` as a batch of its own.
    // The caller then drains the partition. @return the partition to drain().
    TopicPartition add_alone(Lock lock, const std::string& topic, PartitionId partition,
                             const BatchTarget& target, const RecordToAdd& record,
                             ReportSink&& sink);

    // Seals every open batch. @return the partitions that have batches to drain.
    std::vector<TopicPartition> seal_all();

    // From begin_flush() to its end_flush(), batches do not linger: a batch opened meanwhile is
    // due at once, as in Kafka's producers, so that a flush() waiting for every record is not
    // held up by records another thread produces during it.
    void begin_flush();
    void end_flush();

    // Blocks until some open batch has lingered linger.ms (or any batch is open while a
    // produce() call waits for buffer.memory or a flush runs), then seals every batch that is
    // due. @return the partitions to drain; empty once stop() was called.
    std::vector<TopicPartition> wait_for_due();

    // Makes wait_for_due() return at once, now and from then on.
    void stop();

    // Keeps the bytes of a batch that was appended, for a batch opened later to encode into.
    void recycle(std::vector<std::byte> buffer);

    // Appends the partition's sealed batches with `send`, in order, unless another thread is
    // already draining this partition (it then appends them too). Each call of `send` gets all
    // the batches sealed since the previous one. What the calls of `send` return runs, in
    // order, once the partition is released, so other threads append while this one waits for
    // an fsync, and the next fsync can cover their batches too.
    void drain(const TopicPartition& key, const SendFn& send);

  private:
    friend class DrainedShares;

    struct Slot {
        std::optional<Batch> open;
        std::deque<Batch> sealed;
        bool draining = false;
    };

    // Whether a slot holds nothing and nobody drains it. REQUIRES: mu_ held.
    static bool idle(const Slot& slot) {
        return !slot.open && slot.sealed.empty() && !slot.draining;
    }
    // The slot of a partition, created if needed. The last one found is remembered, since a
    // producer usually writes to the same partition many times in a row; an idle one is erased
    // when another becomes the last.
    // REQUIRES: mu_ held.
    Slot& slot(const std::string& topic, PartitionId partition, const BatchTarget& target);
    // REQUIRES: mu_ held and slot.open set.
    void seal(Slot& slot);
    // Encodes `record` into `batch`. REQUIRES: mu_ held.
    // Inline: add_to_last() runs it once per record produced.
    [[gnu::always_inline]] static void encode(Batch& batch, const RecordToAdd& add,
                                              ReportSink&& sink) {
        encode(batch, add);
        if (sink.callback || sink.sync) add_report(batch, add, std::move(sink));
    }
    // Encodes `record` into `batch`, without a report. REQUIRES: mu_ held.
    [[gnu::always_inline]] static void encode(Batch& batch, const RecordToAdd& add) {
        const RecordRef& r = add.record;
        batch.records.add(r.key, r.value, r.headers, add.timestamp,
                          static_cast<std::int32_t>(batch.records.record_count()), add.fields);
    }
    // add_all()'s encoding: the records into `batch`, stopping at the first that takes it
    // past `limit` bytes. @return 0 if all were encoded within it; else at least the size the
    // batch would have had. REQUIRES: mu_ held.
    static std::size_t encode_all(Batch& batch, const RecordsToAdd& add, std::size_t limit);
    // add_all()'s reports. REQUIRES: mu_ held.
    static void add_reports(Batch& batch, const RecordsToAdd& add, std::uint32_t first,
                            const DeliveryCallback& callback);
    // Keeps the report of the record just encoded into `batch`. REQUIRES: mu_ held.
    static void add_report(Batch& batch, const RecordToAdd& add, ReportSink&& sink) {
        batch.reports.push_back({batch.records.record_count() - 1, add.timestamp, std::move(sink)});
    }
    // Opens a batch for `target` in `slot`, sealing an open one for a deleted and re-created
    // topic first. Sets `wake_sender` if the caller must signal due_cv_ (after releasing mu_).
    // REQUIRES: mu_ held.
    // Seals the open batch of `slot` if `record` would take it past target.max_batch_bytes.
    // REQUIRES: mu_ held.
    void seal_if_record_overflows(Slot& slot, const BatchTarget& target, const RecordToAdd& record);
    // `wake_sender` null: the caller seals the batch itself, so the sender is not needed.
    Batch& open_batch(Slot& slot, const BatchTarget& target, bool* wake_sender);

    const std::chrono::milliseconds linger_;
    const std::size_t batch_size_;
    const SealHook on_seal_;
    BufferMemory memory_;  // Guarded by mu_.

    using TimePoint = std::chrono::steady_clock::time_point;

    AccumulatorMutex mu_;
    std::condition_variable_any due_cv_;    // wakes wait_for_due() on an earlier due batch or stop
    std::map<TopicPartition, Slot> slots_;  // Guarded by mu_.
    // The entry of slots_ that slot() found last, or null; guarded by mu_.
    std::map<TopicPartition, Slot>::iterator last_slot_{};
    bool has_last_slot_ = false;  // Guarded by mu_.
    bool stopped_ = false;        // Guarded by mu_.
    std::size_t flushes_ = 0;     // begin_flush() calls not yet ended. Guarded by mu_.
    std::vector<std::vector<std::byte>> spare_buffers_;  // Guarded by mu_.
    // When wait_for_due() is asleep, the time it wakes at (max(): only when notified); min()
    // while it is awake and will look at every open batch before sleeping. Guarded by mu_.
    TimePoint sleeping_until_ = TimePoint::min();
};

}  // namespace brook::client

// Producer: publishes records to topics, as confluent-kafka's Producer does.
//
// produce() is asynchronous: it places the record in a per-partition batch and returns. A
// batch is appended to its partition log when it reaches batch.size, when it has waited
// linger.ms, or on flush(). Each record's delivery report (its partition and offset, or an
// error) is handed to its callback from poll() or flush(), on the thread that calls them.
// produce_sync() appends at once and returns the report. produce_batch() queues several
// records for one partition as a unit: one batch, so they are appended (and survive a crash)
// all together or not at all.
//
// Config keys (Kafka's names and defaults):
//   acks               "1" (default: a report means appended: visible to consumers and in the
//                      OS page cache), "0" (same in brook), "all" / "-1" (a report means the
//                      batch was fsynced; concurrent waiters share one fsync)
//   linger.ms          5      how long a batch waits for more records; 0 sends as soon as
//                      possible: the sender thread appends a batch as soon as it opens, and
//                      records produced meanwhile collect into the next batch; with acks 0 or
//                      1, a record produced after a pause (20 us without a produce() call) is
//                      appended by produce() itself, without the hand-off to the sender
//   batch.size         16384  bytes of records per batch before it is sent
//   buffer.memory      33554432  bytes the batches not yet appended may hold; a batch takes
//                      batch.size of it when it opens; at least batch.size
//   max.block.ms       60000  how long a produce call that needs a new batch waits for room
//                      in buffer.memory before it fails with timed_out (0: at once)
//   compression.type   none | zstd (default none); a topic's own compression.type wins
//   partitioner        murmur2 (default; Kafka's Java client mapping), murmur2_random, xxh3;
//                      records with a null key use sticky partitioning
//   delivery.timeout.ms 120000  a record not appended within this fails with timed_out
//   client.id          ""     a name for messages
//   enable.idempotence true   batches carry a producer id, epoch and per-partition sequence,
//                      so a batch appended twice is stored once and a gap is refused
//   transactional.id   unset  enables transactions (below); needs enable.idempotence
//   transaction.timeout.ms 60000  an open transaction older than this (store clock) is
//                      aborted by the store's maintenance, and this producer is fenced;
//                      at most 900000 (Kafka's transaction.max.timeout.ms)
// Any other key is invalid_argument.
//
// Transactions (docs/exactly-once.md), as in confluent-kafka: init_transactions() once, then
// begin_transaction(), produce(), send_offsets_to_transaction(), and commit_transaction() or
// abort_transaction(). Records of a committed transaction, and its offsets, become visible
// together; read_committed consumers never see an aborted one. A newer producer with the same
// transactional.id fences this one: its calls, and its records' reports, then fail with
// fenced, and it must be destroyed. The transaction calls are made from one thread at a time.
//
// Threads: a Producer runs one sender thread, which appends lingering batches on time. Every
// method may be called from any number of threads at once. Callbacks run only inside poll()
// and flush(), on the calling thread.
#pragma once

#include <brook/config.hpp>
#include <brook/message.hpp>
#include <brook/status.hpp>
#include <brook/store.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace brook {

struct ProducerRecord {
    std::string topic{};
    std::optional<std::string> key{};    // nullopt: a null key (sticky partitioning)
    std::optional<std::string> value{};  // nullopt: a tombstone
    Headers headers{};
    std::optional<std::int64_t> timestamp{};  // default: the store clock's now
    std::optional<PartitionId> partition{};   // default: chosen by the partitioner
};

struct DeliveryReport {
    std::string topic{};
    PartitionId partition{};
    Offset offset = kOffsetInvalid;
    std::int64_t timestamp = -1;
    Status error{};  // ok when delivered
};

using DeliveryCallback = std::function<void(const DeliveryReport&)>;

// One record of a produce_batch() call, as views of the caller's bytes: they need only live
// until the call returns. std::nullopt is a null key, a tombstone value, or the store clock's
// now as the timestamp.
struct BatchRecord {
    std::optional<std::string_view> key{};
    std::optional<std::string_view> value{};
    std::optional<std::int64_t> timestamp{};
    std::span<const Header> headers{};
};

class Producer {
  public:
    // @return invalid_argument naming a bad key or value; closed if the store is closed;
    //         invalid_argument if the store is read-only.
    static Result<std::unique_ptr<Producer>> create(const Store& store, const Config& config = {});

    // Appends every batch still queued (reports are dropped unless flush() ran), then stops.
    ~Producer();

    // Queues a record. The callback, if any, gets its delivery report from poll() or flush().
    // A report's error may also be fenced (a newer producer owns this producer's
    // transactional.id, or its transaction timed out) or out_of_order_sequence (the partition
    // lost track of this idempotent producer's sequence); both are fatal for the producer.
    // Blocks only while buffer.memory is full and the record needs a new batch, up to
    // max.block.ms.
    // @return not_found (no such topic or partition); record_too_large (larger than the
    //         topic's max.message.bytes, or than buffer.memory); timed_out (buffer.memory
    //         stayed full for max.block.ms; the record was not queued); invalid_argument;
    //         closed; with transactional.id: invalid_txn_state (no transaction in progress),
    //         fenced, out_of_order_sequence.
    Status produce(ProducerRecord record, DeliveryCallback callback = {});

    // Queues a record given as the caller's bytes, as librdkafka's produce() with
    // RK_MSG_COPY: the key, value and headers are copied into the partition's batch during the
    // call, so the views need only live until it returns. For a caller whose key and value are
    // already in buffers, this saves building a ProducerRecord's strings. std::nullopt is a
    // null key (sticky partitioning), a tombstone value, the partitioner's choice of
    // partition, or the store clock's now as the timestamp.
    // @return the errors of produce(ProducerRecord); the same report goes to the callback.
    Status produce(std::string_view topic, std::optional<PartitionId> partition,
                   std::optional<std::string_view> key, std::optional<std::string_view> value,
                   std::optional<std::int64_t> timestamp = std::nullopt,
                   std::span<const Header> headers = {}, DeliveryCallback callback = {});

    // Queues `records` for one partition as one unit, copying their bytes during the call. They
    // go into a single batch (the partition's open one if they fit beside its records, else a
    // new one), so they get consecutive offsets, and one checksum covers them: after a crash
    // the log holds all of them or none, and they become visible to consumers together.
    // This is the call for an event-sourcing command's events, and the cheap way to queue
    // records already at hand (one lock and one routing for all, as librdkafka's
    // rd_kafka_produce_batch()). The partition is `partition`; without one, the partition the
    // records' keys map to, which must be the same for every record with a key; without keys
    // either, the sticky partition. The batch then waits for linger.ms like any other, or is
    // sent at once with linger.ms = 0. `callback`, if set, gets each record's report. Nothing
    // is queued unless every record is accepted; an empty span queues nothing.
    // @return the errors of produce(); invalid_argument if `partition` is not given and keys
    //         map to different partitions (pass the partition, or split the call);
    //         record_too_large if the records together exceed max.message.bytes as a batch of
    //         their own (split the call).
    Status produce_batch(std::string_view topic, std::optional<PartitionId> partition,
                         std::span<const BatchRecord> records, DeliveryCallback callback = {});

    // Appends a record now (with acks=all, durably) and returns its report.
    // @return the errors of produce() and of its delivery report.
    Result<DeliveryReport> produce_sync(ProducerRecord record);

    // Runs the callbacks of delivered records, waiting up to `timeout` for the first one.
    // @return the number of callbacks run.
    int poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

    // Sends every queued record, waits for all reports and runs their callbacks. Records that
    // other threads produce meanwhile are waited for too; while a flush runs, their batches do
    // not linger.
    // @return timed_out if records are still outstanding after `timeout`.
    Status flush(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

    // Records queued or awaiting their callback, as len(producer) in confluent-kafka.
    std::size_t outstanding() const;

    // ---- Transactions (transactional.id) ----------------------------------------------
    // Every call below returns invalid_argument on a producer without transactional.id, and
    // fenced once a newer producer with the same transactional.id (or the transaction
    // timeout) has fenced this one. produce() inside a transaction returns the same errors,
    // and invalid_txn_state outside one.

    // Registers the transactional.id: completes or aborts what an older producer with the
    // same id left open, and fences that producer. Call once, before any transaction.
    // @return invalid_txn_state if already called; invalid_argument (bad id or
    //         transaction.timeout.ms); io_error, no_space; closed.
    Status init_transactions(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

    // Starts a transaction; records produced until commit or abort belong to it.
    // @return invalid_txn_state (before init_transactions, or a transaction is in progress).
    Status begin_transaction();

    // Adds a consumer's offsets (each the next offset to read) to the transaction: they are
    // committed for `group` if and only if the transaction commits.
    // @return fenced (also when the group no longer has this member or generation);
    //         invalid_txn_state (no transaction); invalid_argument (negative offset);
    //         not_found (topic or partition); closed.
    Status send_offsets_to_transaction(
        const std::vector<TopicPartitionOffset>& offsets, const ConsumerGroupMetadata& group,
        std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

    // Flushes the transaction's records, then commits them and its offsets atomically: once
    // it returns ok they survive a crash and read_committed consumers see them.
    // @return invalid_txn_state (no transaction, or a record of it failed: abort instead);
    //         fenced; timed_out (records still queued after `timeout`: call again);
    //         io_error, no_space (call again, or reopen the store, which completes the commit
    //         if it was decided); closed.
    Status commit_transaction(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

    // Appends what is queued, then aborts the transaction: its records are never visible to
    // read_committed consumers, and its offsets are dropped.
    // @return invalid_txn_state (no transaction); fenced; timed_out; io_error; closed.
    Status abort_transaction(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

    class Impl;

  private:
    explicit Producer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace brook

// Producer: publishes records to topics, as confluent-kafka's Producer does.
//
// produce() is asynchronous: it places the record in a per-partition batch and returns. A
// batch is appended to its partition log when it reaches batch.size, when it has waited
// linger.ms, or on flush(). Each record's delivery report (its partition and offset, or an
// error) is handed to its callback from poll() or flush(), on the thread that calls them.
// produce_sync() appends at once and returns the report.
//
// Config keys (Kafka's names and defaults):
//   acks               "1" (default: a report means appended: visible to consumers and in the
//                      OS page cache), "0" (same in brook), "all" / "-1" (a report means the
//                      batch was fsynced; concurrent waiters share one fsync)
//   linger.ms          5      how long a batch waits for more records
//   batch.size         16384  bytes of records per batch before it is sent
//   compression.type   none | zstd (default none); a topic's own compression.type wins
//   partitioner        murmur2 (default; Kafka's Java client mapping), murmur2_random, xxh3;
//                      records with a null key use sticky partitioning
//   delivery.timeout.ms 120000  a record not appended within this fails with timed_out
//   client.id          ""     a name for messages
// Any other key is invalid_argument.
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
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace brook {

struct ProducerRecord {
    std::string topic{};
    std::optional<std::string> key{};  // nullopt: a null key (sticky partitioning)
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

class Producer {
public:
    // @return invalid_argument naming a bad key or value; closed if the store is closed;
    //         invalid_argument if the store is read-only.
    static Result<std::unique_ptr<Producer>> create(const Store& store, const Config& config = {});

    // Appends every batch still queued (reports are dropped unless flush() ran), then stops.
    ~Producer();

    // Queues a record. The callback, if any, gets its delivery report from poll() or flush().
    // @return not_found (no such topic or partition); record_too_large (larger than the
    //         topic's max.message.bytes); invalid_argument; closed.
    Status produce(ProducerRecord record, DeliveryCallback callback = {});

    // Appends a record now (with acks=all, durably) and returns its report.
    Result<DeliveryReport> produce_sync(ProducerRecord record);

    // Runs the callbacks of delivered records, waiting up to `timeout` for the first one.
    // @return the number of callbacks run.
    int poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

    // Sends every queued record, waits for all reports and runs their callbacks.
    // @return timed_out if records are still outstanding after `timeout`.
    Status flush(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

    // Records queued or awaiting their callback, as len(producer) in confluent-kafka.
    std::size_t outstanding() const;

    class Impl;

private:
    explicit Producer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace brook

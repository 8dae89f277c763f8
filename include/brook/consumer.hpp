// Consumer: reads records from assigned partitions, as confluent-kafka's Consumer does.
//
// This is manual assignment: assign() names the partitions and starting offsets. poll()
// returns one message, consume() a batch; both block up to their timeout and wake as soon as
// a record is appended to an assigned partition in this process (no polling loop). A
// read-only store tails another process's writes within fetch.wait.max.ms.
//
// Config keys (Kafka's names and defaults):
//   auto.offset.reset          latest (default) | earliest | none: where to go when the
//                              position is below the log start (or kOffsetInvalid); with none
//                              the message carries offset_out_of_range
//   fetch.wait.max.ms          500      how often a read-only store re-checks for new data
//   max.partition.fetch.bytes  1048576  bytes read from one partition at a time
//   client.id                  ""
// Any other key is invalid_argument. (group.id and commits come with consumer groups.)
//
// Threads: a Consumer is used by one thread at a time, as in Kafka; close() and wakeup() may
// be called from any thread.
#pragma once

#include <brook/config.hpp>
#include <brook/message.hpp>
#include <brook/status.hpp>
#include <brook/store.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace brook {

struct WatermarkOffsets {
    Offset low{};   // log start offset
    Offset high{};  // log end offset
};

struct TopicPartitionTimestamp {
    std::string topic{};
    PartitionId partition{};
    std::int64_t timestamp = 0;
};

class Consumer {
public:
    // @return invalid_argument naming a bad key or value; closed.
    static Result<std::unique_ptr<Consumer>> create(const Store& store, const Config& config = {});
    ~Consumer();

    // Replaces the assignment. Offsets may be real offsets, kOffsetBeginning, kOffsetEnd or
    // kOffsetInvalid (apply auto.offset.reset).
    // @return not_found for an unknown topic or partition; closed.
    Status assign(const std::vector<TopicPartitionOffset>& partitions);
    Status unassign();
    std::vector<TopicPartition> assignment() const;

    // Moves an assigned partition's position. @return invalid_argument if not assigned.
    Status seek(const TopicPartitionOffset& position);
    // The next offset to be returned for each partition (kOffsetInvalid if unknown).
    Result<std::vector<TopicPartitionOffset>> position(const std::vector<TopicPartition>& partitions) const;

    // Paused partitions return nothing until resumed; their positions are kept.
    Status pause(const std::vector<TopicPartition>& partitions);
    Status resume(const std::vector<TopicPartition>& partitions);

    // @return not_found for an unknown topic or partition.
    Result<WatermarkOffsets> get_watermark_offsets(const TopicPartition& partition) const;

    // For each partition, the earliest offset whose timestamp is >= the given one, or
    // kOffsetEnd if there is none, as Kafka's offsetsForTimes.
    Result<std::vector<TopicPartitionOffset>> offsets_for_times(
        const std::vector<TopicPartitionTimestamp>& query) const;

    // The next message, or nullopt when `timeout` passes with none. A message whose error()
    // is not ok reports a problem with a partition (offset_out_of_range, not_found, corruption).
    std::optional<Message> poll(std::chrono::milliseconds timeout);

    // Up to `max_messages` messages, waiting up to `timeout` for the first.
    std::vector<Message> consume(std::size_t max_messages, std::chrono::milliseconds timeout);

    // Makes a blocked poll() or consume() return early. Safe from any thread.
    void wakeup();

    // Leaves the assignment; later calls return closed (or nothing).
    Status close();

    class Impl;

private:
    explicit Consumer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace brook

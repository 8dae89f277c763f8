// Consumer: reads records from assigned partitions, as confluent-kafka's Consumer does.
//
// Partitions come from manual assignment, where assign() names the partitions and starting
// offsets, or from a consumer group: with group.id set, subscribe() joins the group and the
// group splits the subscribed topics' partitions between its members (docs/api.md,
// "Consumer groups"). poll()
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
//   enable.read.ahead          true     brook's own: while poll() hands out a read of a
//                              partition scanned in order, a background thread of the
//                              consumer copies the next one (see Threads, below)
//   client.id                  ""
//   group.id                   ""       the consumer group; needed by subscribe() and commits
//   group.instance.id          ""       static membership: rejoin under this identity
//   partition.assignment.strategy  range,cooperative-sticky  (also roundrobin)
//   enable.auto.commit         true     commit what poll returned, every auto.commit.interval.ms
//   auto.commit.interval.ms    5000
//   max.poll.interval.ms       300000   a member that does not poll this often is removed
//   session.timeout.ms         45000    how long a closed static member keeps its partitions
//   isolation.level            read_uncommitted (default) | read_committed: with
//                              read_committed, poll() returns only records of committed
//                              transactions (and non-transactional ones), up to the last
//                              stable offset (LSO); get_watermark_offsets' high and
//                              kOffsetEnd / auto.offset.reset=latest mean the LSO
// Any other key is invalid_argument. With group.id, a partition assigned with kOffsetInvalid
// starts at the group's committed offset, if any, before auto.offset.reset applies.
//
// Threads: a Consumer is used by one thread at a time, as in Kafka; wakeup() may be called from
// any thread, and so may close() of a consumer that did not subscribe(). A subscribed consumer
// is closed (or destroyed) by the thread that polls it, since close() commits and runs the
// rebalance listener. With enable.read.ahead, a consumer whose partition is read twice in a row
// from where its last read ended, the second read at least half of max.partition.fetch.bytes,
// starts one thread of its own, which makes the next read (per partition) while the records of
// the current one are handed out, as Kafka's consumer sends its next fetch before returning
// records. It changes no record returned: a seek drops the read, and a read that fails is made
// again by poll() itself, which reports the error. The thread ends with the consumer.
#pragma once

#include <brook/config.hpp>
#include <brook/message.hpp>
#include <brook/status.hpp>
#include <brook/store.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace brook {

struct WatermarkOffsets {
    Offset low{};   // log start offset
    Offset high{};  // log end offset; the last stable offset for read_committed consumers
};

struct TopicPartitionTimestamp {
    std::string topic{};
    PartitionId partition{};
    std::int64_t timestamp = 0;
};

class Consumer;

// Rebalance callbacks. They run on the consumer's own thread, inside poll(), unsubscribe() and
// close(), never while the consumer holds a lock, so they may call the consumer (commit, seek,
// position, ...). Kafka's ordering holds: revoked partitions are reported (after an
// auto-commit) before the group hands them to another member; lost partitions were already
// handed over, so committing them fails with fenced. on_partitions_assigned runs once after
// every completed rebalance (possibly with no partitions), and again when partitions another
// member gave up arrive; a seek() there sets where reading starts.
class RebalanceListener {
  public:
    virtual ~RebalanceListener() = default;
    virtual void on_partitions_assigned(Consumer& consumer,
                                        const std::vector<TopicPartition>& partitions) = 0;
    virtual void on_partitions_revoked(Consumer& consumer,
                                       const std::vector<TopicPartition>& partitions) = 0;
    // Kafka's default: treat lost partitions as revoked ones.
    virtual void on_partitions_lost(Consumer& consumer,
                                    const std::vector<TopicPartition>& partitions) {
        on_partitions_revoked(consumer, partitions);
    }
};

// The outcome of commit_async(): its status and the offsets it tried to commit.
using CommitCallback =
    std::function<void(const Status& status, const std::vector<TopicPartitionOffset>& offsets)>;

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
    Result<std::vector<TopicPartitionOffset>> position(
        const std::vector<TopicPartition>& partitions) const;

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

    // Up to `max_messages` messages, waiting up to `timeout` for the first. A message whose
    // error() is not ok ends the result, after the good records before it: a damaged batch
    // (corruption, naming the file and position) leaves the partition's position at that batch.
    std::vector<Message> consume(std::size_t max_messages, std::chrono::milliseconds timeout);

    // consume() into the caller's vector, as librdkafka's rd_kafka_consume_batch() fills the
    // caller's array: `out` is cleared first (dropping the messages of the previous call) and
    // keeps its capacity, so a loop that passes the same vector allocates no result after its
    // first calls.
    // @return out.size().
    std::size_t consume(std::vector<Message>& out, std::size_t max_messages,
                        std::chrono::milliseconds timeout);

    // Makes a blocked poll() or consume() return early. Safe from any thread.
    void wakeup();

    // Joins the consumer's group (group.id) with these topics, or with every topic whose
    // whole name matches the ECMAScript regex `pattern`, including topics created later.
    // Calling it again changes the subscription. The assignment arrives inside poll().
    // @return invalid_argument (no group.id, empty list, bad pattern, manually assigned, no
    //         strategy shared with the group's members); closed.
    Status subscribe(const std::vector<std::string>& topics,
                     std::shared_ptr<RebalanceListener> listener = {});
    Status subscribe_pattern(std::string_view pattern,
                             std::shared_ptr<RebalanceListener> listener = {});
    // Commits (with enable.auto.commit), revokes every partition and leaves the group.
    Status unsubscribe();
    // This consumer's member id in its group, or "" when it is not a member.
    std::string member_id() const;
    // The group id, generation and member id, for Producer::send_offsets_to_transaction.
    // @return invalid_argument (no group.id); closed.
    Result<ConsumerGroupMetadata> group_metadata() const;

    // Commits synchronously: the consumed positions of every assigned partition, the offset
    // after `message`, or the given offsets (each the next offset to read). Once it returns ok
    // the commit survives a crash.
    // @return fenced (the member was removed from the group, its generation is stale, or it
    //         does not own a partition); not_found (no such topic or partition);
    //         invalid_argument (no group.id, a negative offset); closed; no_space, io_error.
    Status commit();
    Status commit(const Message& message);
    Status commit(const std::vector<TopicPartitionOffset>& offsets);
    // Queues a commit of the consumed positions (or of `offsets`); it is written, and
    // `callback` runs on this thread, at the next poll(), commit() or close().
    void commit_async(CommitCallback callback = {});
    void commit_async(std::vector<TopicPartitionOffset> offsets, CommitCallback callback = {});
    // The group's committed offset of each partition, kOffsetInvalid where there is none.
    // @return invalid_argument (no group.id); closed; corruption.
    Result<std::vector<TopicPartitionOffset>> committed(
        const std::vector<TopicPartition>& partitions) const;

    // Leaves the group (committing and revoking first, as unsubscribe does; a static member
    // keeps its identity for session.timeout.ms) and the assignment; later calls return closed
    // (or nothing).
    Status close();

    class Impl;

  private:
    explicit Consumer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace brook

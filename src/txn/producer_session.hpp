// ProducerSession: a Producer's side of idempotence and transactions.
//
// An idempotent producer (enable.idempotence, the default) has a producer id and epoch from
// the store's coordinator and a sequence number per partition: every batch carries the three,
// so the partition log can recognise a batch appended twice and refuse one that skips ahead.
// Sequences are taken when a batch is appended; since a partition's batches are appended one
// at a time in order (client/record_accumulator.hpp), each partition's sequence moves forward
// without gaps.
//
// A transactional producer (transactional.id set) also runs Kafka's client state machine:
//
//   uninitialized --init_transactions--> ready --begin--> in_transaction
//   in_transaction --commit/abort--> ready         (an append error makes the transaction
//   any --fenced--> fatal                            abortable: commit fails, abort works)
//
// Ownership: owned by Producer::Impl; borrows the store's StoreView. Thread safety: any thread; the
// transaction calls are serialised with each other, as in Kafka where they are called from
// one thread.
#pragma once

#include <atomic>
#include <brook/message.hpp>
#include <brook/status.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "txn/coordinator.hpp"
#include "txn/store_view.hpp"

namespace brook::txn {

struct SessionConfig {
    bool idempotent = true;
    std::optional<std::string> transactional_id;
    std::int32_t transaction_timeout_ms = 60000;
};

// What one batch carries.
struct BatchStamp {
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    bool transactional = false;
};

class ProducerSession {
  public:
    // Gets a producer id now for an idempotent producer without transactional.id; a
    // transactional one gets its id from init_transactions().
    // @return the coordinator's errors.
    static Result<std::unique_ptr<ProducerSession>> create(StoreView& store, SessionConfig config);

    bool transactional() const noexcept { return config_.transactional_id.has_value(); }

    // ---- Batches, from the sender ---------------------------------------------------------
    // The stamp of the next batch of `partition`.
    BatchStamp stamp(const TopicPartition& partition);
    // A batch of `records` records with `stamp` was appended (or found to be a duplicate).
    void appended(const TopicPartition& partition, const BatchStamp& stamp, std::int32_t records);
    // An append failed: fenced makes the producer fatal; in a transaction any failure makes
    // the transaction abortable.
    void append_failed(const Status& error);

    // ---- Records, from produce() ----------------------------------------------------------
    // For a transactional producer: adds the partition to the transaction.
    // @return the fatal error (fenced, out_of_order_sequence) once the producer is fatal;
    //         invalid_txn_state outside a transaction; the coordinator's errors.
    Status before_produce(const TopicPartition& partition);
    // Whether before_produce() has anything to check. Without it (a non-transactional
    // producer in good standing) produce() needs no call, so no TopicPartition to build.
    bool checks_produce() const noexcept {
        return transactional() || fatal_seen_.load(std::memory_order_acquire);
    }

    // ---- Transactions ---------------------------------------------------------------------
    // `flush` sends every queued record and waits for their reports (Producer::flush).
    using Flush = std::function<Status()>;

    Status init_transactions();
    Status begin_transaction();
    Status send_offsets(const std::vector<TopicPartitionOffset>& offsets,
                        const std::string& group_id, const std::string& member_id,
                        std::int32_t generation);
    // Commits (`commit`) or aborts the transaction in progress, after `flush`.
    Status end_transaction(const Flush& flush, bool commit);

  private:
    enum class State : std::uint8_t { uninitialized, ready, in_transaction, fatal };

    ProducerSession(StoreView& store, SessionConfig config)
        : store_(store), config_(std::move(config)) {}

    // invalid_argument unless transactional; the fatal error once fatal.
    Status check_transactional(std::string_view op) const;
    // REQUIRES: mu_ held.
    Status require_in_transaction_locked(std::string_view op) const;
    // Makes the producer fatal if `status` is fenced; returns `status`. REQUIRES: mu_ held.
    Status fatal_if_fenced_locked(Status status);

    StoreView& store_;
    const SessionConfig config_;

    std::mutex txn_mu_;      // serialises the transaction calls
    mutable std::mutex mu_;  // guards the fields below
    ProducerIdAndEpoch producer_;
    std::map<TopicPartition, std::int32_t> next_sequence_;
    State state_ = State::uninitialized;
    Status fatal_;                         // why the producer is fatal
    Status abortable_;                     // the first append error of the transaction in progress
    std::set<TopicPartition> partitions_;  // added to the transaction in progress
    bool has_offsets_ = false;
    // Set with state_ = fatal, for before_produce() to read without mu_.
    std::atomic<bool> fatal_seen_{false};
};

}  // namespace brook::txn

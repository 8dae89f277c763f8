// ProducerStateTable: what a partition log knows of each idempotent or transactional producer.
//
// For every producer id seen in the partition it keeps the epoch, the last few batches'
// sequence and offset ranges (format::kProducerBatchesKept, as in Kafka) and the first offset
// of its open transaction. append() asks check() before writing a batch, which tells a new
// batch from a duplicate of a recent one (acknowledged with its original offsets), a batch of a
// fenced epoch, and a sequence gap; then apply() records the written batch. Recovery replays
// batches through apply() alone, which trusts them.
//
// Sequences: a batch's last sequence is its base sequence + last offset delta, wrapping from
// INT32_MAX to 0. A known producer continues at last sequence + 1 within its epoch and starts a
// new epoch at 0. A producer the partition has never seen may start at any sequence, as in
// Kafka (its state may have gone with retention).
//
// Ownership: owned by the partition's TransactionState. Thread safety: none; the owner
// serialises every call (the log's append lock).
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "log/control_batch.hpp"
#include "log/record_batch.hpp"

namespace brook::log {

// One batch of a producer: its sequence and offset ranges.
struct BatchMetadata {
    std::int32_t first_sequence = 0;
    std::int32_t last_sequence = 0;
    Offset first_offset;
    Offset last_offset;

    friend bool operator==(const BatchMetadata&, const BatchMetadata&) = default;
};

struct ProducerEntry {
    std::int64_t producer_id = -1;
    std::int16_t epoch = 0;
    // Timestamp (max) of the producer's last batch, -1 before any.
    std::int64_t last_timestamp = -1;
    // First offset of the producer's open transaction.
    std::optional<Offset> transaction_first_offset;
    // The latest batches of the current epoch, oldest first: at most kProducerBatchesKept,
    // so a vector (a deque costs about 600 bytes per producer in every partition).
    std::vector<BatchMetadata> batches;

    // The last sequence written in the current epoch, or -1 when none is.
    std::int32_t last_sequence() const noexcept {
        return batches.empty() ? -1 : batches.back().last_sequence;
    }
    friend bool operator==(const ProducerEntry&, const ProducerEntry&) = default;
};

struct OpenTransaction {
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = 0;
    Offset first_offset;

    friend bool operator==(const OpenTransaction&, const OpenTransaction&) = default;
};

// An aborted transaction as the .txnindex records it.
struct AbortedTransaction {
    std::int64_t producer_id = -1;
    Offset first_offset;        // the transaction's first batch
    Offset last_offset;         // its abort marker
    Offset last_stable_offset;  // the partition's LSO once the marker was written

    friend bool operator==(const AbortedTransaction&, const AbortedTransaction&) = default;
};

// The sequence after `sequence`, wrapping at INT32_MAX as Kafka does.
std::int32_t next_sequence(std::int32_t sequence) noexcept;
// `sequence` + `delta`, wrapping at INT32_MAX.
std::int32_t add_sequence(std::int32_t sequence, std::uint32_t delta) noexcept;

class ProducerStateTable {
  public:
    // What check() found: a new batch to write, or the original of a duplicate.
    struct Verdict {
        std::optional<BatchMetadata> duplicate_of;
    };

    // Checks a batch with producer_id >= 0 before it is written. `partition` names the log in
    // messages; `marker` is set for a control batch.
    // @return invalid_argument for an idempotent batch without a sequence or epoch;
    //         fenced if its epoch is below the producer's; out_of_order_sequence naming the
    //         partition, producer, expected and received sequence; invalid_txn_state for a
    //         non-transactional batch while the producer has a transaction open.
    Result<Verdict> check(const BatchHeader& header, const std::string& partition) const;

    // Records a written batch (its header holds the final offsets). For a control batch
    // `marker` is its marker. @return the transaction an abort marker ended (its
    // last_stable_offset still to be filled in by the caller), else nullopt.
    std::optional<AbortedTransaction> apply(const BatchHeader& header,
                                            const std::optional<ControlMarker>& marker);

    // The first offset of the oldest open transaction, or nullopt when none is open.
    std::optional<Offset> first_unstable_offset() const;
    std::vector<OpenTransaction> open_transactions() const;
    std::optional<ProducerEntry> get(std::int64_t producer_id) const;
    const std::map<std::int64_t, ProducerEntry>& producers() const noexcept { return producers_; }

    // Forgets the producers without an open transaction whose last batch's timestamp is below
    // `cutoff_ms`. @return how many it forgot.
    std::size_t expire(std::int64_t cutoff_ms);

    // Replaces the whole table (from a snapshot).
    void assign(std::map<std::int64_t, ProducerEntry> producers);

  private:
    std::map<std::int64_t, ProducerEntry> producers_;
    // Open transactions by first offset, for the LSO.
    std::map<Offset, std::int64_t> ongoing_;
};

}  // namespace brook::log

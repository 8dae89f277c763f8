// Coordinator: the store's transaction coordinator, Kafka's TransactionCoordinator in-process.
//
// It owns producer ids and, per transactional.id, the producer id, the epoch and the state of
// the transaction in progress: empty -> ongoing -> prepare_commit | prepare_abort -> empty.
//
//   init_producer()   bumps the epoch of a transactional.id, which fences every producer
//                     holding an older one, after finishing what an older producer left:
//                     a decided commit or abort is completed, an ongoing transaction aborted.
//   add_partition()   the producer is about to write to a partition inside its transaction;
//                     the first call of a transaction makes it ongoing and starts its clock.
//   add_offsets()     group offsets to apply if the transaction commits.
//   end_transaction() commit: sync the touched partitions, write prepare_commit (partitions
//                     and offsets) durably, write commit markers to every touched partition
//                     (synced), apply the offsets to the group offset table, then empty.
//                     abort: write prepare_abort, abort markers, empty.
//   expire()          maintenance: a transaction ongoing for longer than its
//                     transaction.timeout.ms on the store's clock is aborted and its epoch
//                     bumped, so the stale producer is fenced.
//   recover()         store open: prepare_commit rolls forward, prepare_abort completes, and
//                     every transaction still open in a partition log (a crash with a
//                     transaction open) gets an abort marker.
//
// What is durable: the record of a transactional.id is written to the metadata store at each
// epoch bump and at prepare_commit, prepare_abort and empty. "ongoing" (with its partitions)
// is kept in memory only: after a crash every open transaction is found in the logs
// themselves (PartitionLog::open_transactions) and aborted, which is what Kafka's coordinator
// would do with an ongoing transaction whose producer is gone.
//
// Ownership: owned by StoreCore, which outlives it, as does the StoreView it is given.
// Thread safety: any thread; calls for one transactional.id are serialised, calls for
// different ones run in parallel.
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "txn/producer_id_manager.hpp"
#include "txn/store_view.hpp"
#include "txn/txn_record.hpp"

namespace brook::txn {

struct ProducerIdAndEpoch {
    std::int64_t id = -1;
    std::int16_t epoch = -1;

    friend bool operator==(const ProducerIdAndEpoch&, const ProducerIdAndEpoch&) = default;
};

class Coordinator {
  public:
    // REQUIRES: `core` outlives the coordinator and has loaded its topics.
    explicit Coordinator(StoreView& store);

    // Completes or aborts what a crash left (see above). Called once at store open.
    // @return corruption (a damaged record); the errors of appending markers.
    Status recover();

    // A new producer id with epoch 0, for an idempotent producer without transactional.id.
    Result<ProducerIdAndEpoch> new_producer_id();

    // The producer id of `transactional_id` with a new epoch (see above).
    // @return invalid_argument (bad id or timeout); the errors of finishing the older
    //         producer's transaction (io_error, no_space, closed).
    Result<ProducerIdAndEpoch> init_producer(std::string_view transactional_id,
                                             std::int32_t timeout_ms);

    // @return fenced (a newer epoch exists); invalid_txn_state (a commit or abort is in
    //         progress; finish it first).
    Status add_partition(std::string_view transactional_id, ProducerIdAndEpoch producer,
                         const TopicPartition& partition);
    Status add_offsets(std::string_view transactional_id, ProducerIdAndEpoch producer,
                       const std::string& group_id,
                       const std::vector<TopicPartitionOffset>& offsets);

    // Commits or aborts the transaction in progress. A call after a failed one (io_error)
    // with the same decision retries writing the markers.
    // @return fenced; invalid_txn_state (no transaction, or the other decision was already
    //         made); io_error, no_space, closed (retry the same call, or reopen the store,
    //         which completes the decided outcome).
    Status end_transaction(std::string_view transactional_id, ProducerIdAndEpoch producer,
                           bool commit);

    // Aborts every transaction ongoing for longer than its timeout. @return the first error.
    Status expire();

    // The record of a transactional.id, for tests and tools.
    std::optional<TxnRecord> describe(std::string_view transactional_id);

  private:
    struct Entry {
        std::mutex mu;  // serialises calls for this id; guards record
        TxnRecord record;
        bool exists = false;  // record was loaded or created
    };

    std::shared_ptr<Entry> entry(std::string_view transactional_id);
    // fenced unless `producer` holds the entry's current epoch. REQUIRES: entry.mu held.
    static Status check_producer(const Entry& entry, std::string_view transactional_id,
                                 ProducerIdAndEpoch producer);
    // Moves an empty record to ongoing. REQUIRES: entry.mu held.
    Status start_if_empty(Entry& entry, std::string_view transactional_id);
    Status persist(std::string_view transactional_id, const TxnRecord& record);
    // Writes `next` as the decided outcome, then completes it. REQUIRES: entry.mu held.
    Status decide_and_complete(Entry& entry, std::string_view transactional_id, TxnState next);
    // Markers, offsets (for a commit), then empty. REQUIRES: entry.mu held; the record is
    // prepare_commit or prepare_abort.
    Status complete(Entry& entry, std::string_view transactional_id);
    // Aborts the ongoing transaction under the next epoch, so the markers fence the producer
    // that began it. REQUIRES: entry.mu held; the record is ongoing.
    Status abort_with_new_epoch(Entry& entry, std::string_view transactional_id);
    // Makes the partitions' data durable. Missing (deleted) partitions are skipped.
    Status sync_partitions(const TxnRecord& record);

    StoreView& store_;
    ProducerIdManager ids_;
    std::mutex mu_;  // guards entries_ (the map, not the entries)
    std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;
};

}  // namespace brook::txn

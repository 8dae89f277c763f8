// TransactionState: the exactly-once state of one partition log.
//
// It owns the ProducerStateTable (duplicate detection, fencing, open transactions), the
// aborted-transaction index of the whole log (the union of the segments' .txnindex files, kept
// in memory; about 40 bytes per aborted transaction) and the producer-state snapshots, and
// computes the last stable offset (LSO). PartitionLog calls it at a few points: before and
// after writing a batch, at roll, close, open, and when segments go.
//
// Durability: the active segment's .txnindex is not fsynced per entry. It is fsynced at roll
// and close, before the recovery point or clean-shutdown marker that would let open() trust
// it; after a crash open() rebuilds it, with the producer state, by replaying the batches
// from the newest snapshot at or below the first segment recovery validates.
//
// Thread safety: check, record, seal_index, write_snapshot, load, replay, open_transactions
// and producer need the log's append lock (or exclusive access, in open). first_unstable and
// the aborted-index lookups may be called from any thread at any time. Maintenance calls
// (drop_below, aborted_in) are serialised by the log's maintenance lock.
#pragma once

#include <atomic>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "fs/file_system.hpp"
#include "log/control_batch.hpp"
#include "log/producer_snapshot.hpp"
#include "log/producer_state.hpp"
#include "log/record_batch.hpp"

namespace brook::log {

class TransactionState {
  public:
    TransactionState(fs::FileSystem& fs, std::string dir);

    struct Checked {
        std::optional<BatchMetadata> duplicate_of;  // set: acknowledge, write nothing
        std::optional<ControlMarker> marker;        // set for a control batch
    };
    // Checks a batch before it is written (see ProducerStateTable::check).
    // @return the errors of ProducerStateTable::check; invalid_argument for a control batch
    //         without a producer id or a well-formed marker, or a transactional batch without
    //         a producer id.
    Result<Checked> check(std::span<const std::byte> batch, const BatchHeader& header) const;

    // Records a written batch. An abort marker's entry is appended to the .txnindex of the
    // active segment `active_base`. @return io_error / no_space writing that file.
    Status record(const BatchHeader& header, const std::optional<ControlMarker>& marker,
                  Offset active_base);

    // Fsyncs and closes the active segment's .txnindex, at roll and close, before the log
    // trusts the segment. @return io_error.
    Status seal_index();
    // Forgets the producers idle since before `expire_before_ms` (ProducerStateTable::expire),
    // then writes the snapshot of the producer state at `at`, the log end now.
    // @return io_error / no_space.
    Status write_snapshot(Offset at, std::int64_t expire_before_ms);
    // As write_snapshot(), but returns the producer state instead of writing it, for a
    // snapshot at the log end now that is written later (log::write_snapshot).
    ProducerMap producers_for_snapshot(std::int64_t expire_before_ms);

    struct LoadReport {
        int snapshots_rejected = 0;          // corrupt snapshots ignored and removed
        std::uint64_t batches_replayed = 0;  // batches scanned to rebuild the state
        // When the replay began below the last segment: the producer state as of its base,
        // which no snapshot on disk holds (the roll's snapshot was lost or never written).
        std::optional<ProducerMap> state_at_last_base;
    };
    using BatchVisitor = std::function<Status(const DecodedBatch&)>;
    // Calls the visitor with every batch from an offset to the log end, in order.
    using Scanner = std::function<Status(Offset from, const BatchVisitor&)>;
    // Loads the state on open. `names` are the entries of the partition's directory as the
    // caller listed them (so that an open lists it once): they must name every snapshot and
    // .txnindex there is, and may still name stray files removed since (temporary files,
    // indexes of no segment), which this ignores. `bases` are the segments' base offsets
    // (ascending), `end` the log end, `rescan_from` the first offset whose .txnindex entries
    // are not known durable (the log end after a clean shutdown). Removes stray and corrupt
    // snapshots, and rewrites the .txnindex files of the replayed range that differ, unless
    // `read_only` (a follower, whose files another process writes). A follower skips a
    // snapshot the writer removed after `names` was listed.
    // @return corruption / io_error from scanning the log; io_error from the files.
    Result<LoadReport> load(const std::vector<std::string>& names, const std::vector<Offset>& bases,
                            Offset end, Offset rescan_from, const Scanner& scan,
                            bool read_only = false);

    // For a follower: replays the batches the writer published since, from `from`, into the
    // state and the aborted index (in memory only).
    // @return corruption / io_error from scanning the log.
    Status replay(Offset from, const Scanner& scan);

    // The first offset of the oldest open transaction, or nullopt.
    std::optional<Offset> first_unstable() const noexcept;
    // The aborted transactions that may overlap offsets [from, to].
    std::vector<AbortedTransaction> aborted_overlapping(Offset from, Offset to) const;
    // The aborted transactions whose markers lie in [begin, end).
    std::vector<AbortedTransaction> aborted_in(Offset begin, Offset end) const;

    std::vector<OpenTransaction> open_transactions() const { return table_.open_transactions(); }
    std::optional<ProducerEntry> producer(std::int64_t id) const { return table_.get(id); }

    // Segments below `first_base` were removed: forgets their aborted transactions and
    // removes the snapshots below it. @return io_error removing files.
    Status drop_below(Offset first_base);

  private:
    void publish_first_unstable() noexcept;
    // Applies one batch read back from the log; an abort it ends goes to `aborted`.
    Status replay_batch(const DecodedBatch& batch, std::vector<AbortedTransaction>& aborted);
    void add_aborted(const std::vector<AbortedTransaction>& entries);

    fs::FileSystem& fs_;
    const std::string dir_;
    ProducerStateTable table_;
    std::unique_ptr<fs::File> active_index_;  // the active segment's .txnindex, once opened
    Offset active_index_base_;

    mutable std::shared_mutex aborted_mu_;     // guards aborted_ and max_span_
    std::vector<AbortedTransaction> aborted_;  // ascending by last offset
    std::int64_t max_span_ = 0;                // the largest last - first offset in aborted_

    std::atomic<std::int64_t> first_unstable_{-1};  // -1: none open
};

}  // namespace brook::log

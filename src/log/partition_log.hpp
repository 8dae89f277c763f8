// PartitionLog: the durable, append-only log of one partition.
//
// A partition is a directory of segments (see segment.hpp), plus two checkpoint files (see
// checkpoint.hpp). The log assigns offsets, rolls segments, answers reads by offset and by
// timestamp, flushes by flush.messages / flush.ms or on request, and recovers on open.
// It knows nothing of topics, groups or clients: it appends and reads batches.
//
// Durability: an append is in the operating system's cache when append() returns. It is on
// disk once a flush covers it: flush(), AppendOptions::sync, or the flush.messages / flush.ms
// thresholds. A failed fsync of segment data stops the log (fail-stop): every later append
// and flush fails with io_error / SubCode::fail_stopped until the log is reopened, because the
// kernel may have dropped the unsynced pages and a retry could falsely report success.
//
// Thread safety: any number of threads may call every method at once. Appends (and flushes
// and closes) are serialised by one mutex per log, held for the write. Readers take no lock
// that an append holds across I/O; they see only whole batches, in offset order, up to the
// published log end offset.
#pragma once

#include <atomic>
#include <brook/clock.hpp>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "fs/file_system.hpp"
#include "log/group_commit.hpp"
#include "log/log_config.hpp"
#include "log/producer_snapshot.hpp"
#include "log/record_batch.hpp"
#include "log/segment.hpp"
#include "log/transaction_state.hpp"

namespace brook::log {

struct AppendOptions {
    // fsync before returning, and publish the batch to readers only after the fsync.
    bool sync = false;
    // The caller encoded the bytes in this process (encode_batch or BatchBuilder), which
    // computed their checksum, and has not changed them since: append checks the header but
    // does not hash the batch again. Readers verify the checksum as always.
    bool freshly_encoded = false;
};

struct AppendResult {
    Offset base_offset;
    Offset last_offset;
    // The time written into the batch for LogAppendTime logs, else -1 (as in Kafka).
    std::int64_t log_append_time = -1;
    // True when the batch duplicated one of its producer's last 5: nothing was written and
    // the offsets are those of the original.
    bool duplicate = false;
};

// Which batches a read returns, as Kafka's isolation.level.
enum class Isolation : std::uint8_t {
    read_uncommitted,  // every batch up to the log end
    read_committed,    // up to the last stable offset; aborted transactions' records removed
};

struct SegmentInfo {
    Offset base_offset;
    std::uint64_t size_bytes = 0;
    std::optional<std::int64_t> max_timestamp;
};

// How open() found the log. For tests, tools and the store's statistics.
struct RecoveryReport {
    bool clean_shutdown = false;        // nothing was rescanned
    int segments_scanned = 0;           // segments validated batch by batch
    std::uint64_t bytes_truncated = 0;  // torn tail cut off
    int snapshots_rejected = 0;         // corrupt producer-state snapshots ignored and removed
    std::uint64_t producer_batches_replayed = 0;  // batches replayed to rebuild producer state
};

class PartitionLog {
  public:
    // Opens the partition in `dir`, creating the directory and a first segment if needed, and
    // recovers it (see docs/format.md, "Recovery").
    // REQUIRES: `fs` and `clock` outlive the log.
    // @return invalid_argument for a bad config; corruption naming file and position when a
    //         batch inside the log is damaged; io_error / no_space when the directory cannot be
    //         created or read (the message names the path).
    static Result<std::unique_ptr<PartitionLog>> open(fs::FileSystem& fs, std::string dir,
                                                      LogConfig config, const Clock& clock);

    // Opens the partition for reading while another process writes it. Nothing on disk is
    // changed: no file is created, no tail cut off, no marker written. Indexes are built in
    // memory by scanning the segments. The log holds the batches the writer had completed;
    // refresh() picks up later ones. Appends fail with invalid_argument.
    // @return not_found if the partition directory does not exist; corruption as for open().
    static Result<std::unique_ptr<PartitionLog>> open_follower(fs::FileSystem& fs, std::string dir,
                                                               LogConfig config,
                                                               const Clock& clock);

    // For a follower: picks up the segments and batches the writer has completed since. Segments
    // a compaction swap replaced keep their old records here until the follower is reopened;
    // segments the swap removed before this follower opened them are read from the cleaned
    // segment in their place. Segments wholly below the log start are let go.
    // @return whether the log end offset moved; corruption; io_error; closed.
    Result<bool> refresh();

    ~PartitionLog();
    PartitionLog(const PartitionLog&) = delete;
    PartitionLog& operator=(const PartitionLog&) = delete;

    // Appends one encoded batch (from encode_batch or encode_control_batch). The log assigns
    // its offsets (and, for LogAppendTime, its timestamps) by patching the bytes in place.
    // A batch with a producer id is checked against the producer's state first (see
    // producer_state.hpp): a duplicate of one of its last 5 batches is acknowledged with the
    // original offsets and `duplicate` set, and nothing is written. A transactional batch opens
    // the producer's transaction; a control batch ends it (an abort is indexed in .txnindex).
    // @return record_too_large if the batch exceeds max.message.bytes; invalid_argument or
    //         corruption if the bytes are not a well-formed batch with a valid checksum;
    //         fenced if the producer's epoch is older than the partition knows;
    //         out_of_order_sequence for a sequence gap (the message names the partition,
    //         producer, expected and received sequence); invalid_txn_state for a
    //         non-transactional batch of a producer with an open transaction;
    //         no_space / io_error from the disk, with nothing of the batch kept; io_error with
    //         SubCode::fail_stopped once the log has stopped; closed after close().
    Result<AppendResult> append(std::span<std::byte> batch, const AppendOptions& options = {});

    // Reads whole batches from `from` up to about `max_bytes` (at least one batch when any is
    // available). Records below `from` in the first batch are dropped. Reading at the log end
    // returns no batches. Control batches come back with `records` empty and their header
    // intact, so a reader moves on to header.last_offset() + 1. With read_committed, only
    // batches below the last stable offset come back (none when `from` is at or above it), and
    // batches of aborted transactions also have `records` empty.
    // @return offset_out_of_range with SubCode::below_log_start or ::above_log_end when `from`
    //         is outside [log_start_offset, log_end_offset]; corruption if a stored batch fails
    //         its checksum (never a corrupt record).
    Result<std::vector<DecodedBatch>> read(Offset from, std::size_t max_bytes,
                                           Isolation isolation = Isolation::read_uncommitted) const;

    // As read(), but returns every batch as stored, control records included, and aborted
    // transactions' records too: for the cleaner and tools.
    Result<std::vector<DecodedBatch>> read_batches(
        Offset from, std::size_t max_bytes,
        Isolation isolation = Isolation::read_uncommitted) const;

    // ---- Transactions ------------------------------------------------------------------
    // The first offset of the oldest open transaction (at least the log start), or the log
    // end offset when none is open.
    Offset last_stable_offset() const noexcept;
    // The transactions open now, oldest first: the coordinator aborts or rolls them forward
    // after a crash.
    std::vector<OpenTransaction> open_transactions() const;
    // What the log knows of a producer, or nullopt if it never wrote here.
    std::optional<ProducerEntry> producer_state(std::int64_t producer_id) const;
    // The aborted transactions whose abort markers lie in [begin, end), for the cleaner.
    std::vector<AbortedTransaction> aborted_transactions(Offset begin, Offset end) const;

    // As read(), but the batches come undecoded, read with one system call, for a reader that
    // decodes them into views (decode_raw_views). Records below `from` are still in the first.
    // RawBatches::hidden marks the control batches, and with read_committed the aborted ones,
    // whose records a reader skips.
    Result<RawBatches> read_raw(Offset from, std::size_t max_bytes,
                                Isolation isolation = Isolation::read_uncommitted) const;
    // As read_raw(), into `raw` (emptied first), reusing its buffers' memory.
    Status read_raw_into(Offset from, std::size_t max_bytes, Isolation isolation,
                         RawBatches& raw) const;

    // The first offset whose record timestamp is >= `timestamp_ms`, or nullopt if none is.
    Result<std::optional<Offset>> offset_for_timestamp(std::int64_t timestamp_ms) const;

    // Makes every batch appended so far durable.
    // @return io_error (and the log fail-stops) if fsync fails; closed.
    Status flush();

    // Makes every batch below `end` durable. Concurrent callers share fsyncs (group commit, see
    // group_commit.hpp): one of them syncs everything appended so far while the others wait
    // for it, and appends go on during the fsync.
    // @return invalid_argument if `end` is beyond the log end; io_error (and the log
    //         fail-stops) if fsync fails, for every caller it would have covered and every
    //         later one; closed.
    Status sync_to(Offset end);
    // The callers in sync_to() now whose end is not durable yet: for tests.
    std::size_t sync_waiters() const { return group_commit_.waiting(); }

    // Replaces the config (for a topic's altered settings); it applies from the next append.
    // @return invalid_argument naming a setting out of range.
    Status set_config(const LogConfig& config);

    // Flushes, seals the active segment's indexes and writes the clean-shutdown marker, so the
    // next open rescans nothing. Writes a roll checkpoint still pending first. Later calls
    // return ok; appends and flushes then return closed, while reads keep working.
    Status close();

    // ---- Roll checkpoints ----------------------------------------------------------------
    // A roll makes the old segment's .log durable, then records what lets recovery start at the
    // new segment: the producer snapshot at its base, then the recovery point. By default the
    // roll writes both itself, before the append that rolled returns (4 of its 6 syncs). Once
    // this is called, the roll keeps them in memory as the roll checkpoint, calls `wake`, and
    // write_roll_checkpoint() writes them later on another thread, as Kafka flushes a rolled
    // segment's state in the background. Until then a crash costs only a longer recovery, from
    // the previous recovery point; a later roll replaces a checkpoint still pending. An open
    // whose replay started below the last segment leaves that segment's checkpoint pending too,
    // from the state the replay passed through at its base.
    // REQUIRES: called before the log is shared, on a log that is not a follower. `wake` is
    // called with the append lock held: it must not call into the log.
    void defer_roll_checkpoints(std::function<void()> wake);

    // Writes the roll checkpoint pending, if any: the producer snapshot, then the recovery
    // point. Serialised with retention, compaction and close() by the maintenance lock; appends
    // go on meanwhile. Retention and compaction write it themselves before they remove batches.
    // Then removes the segments wholly below the log start offset that advance_log_start() kept
    // for this checkpoint (or that a crash or close left there).
    // @return ok when nothing was pending or the log is closed; io_error / no_space from the
    //         files, with the checkpoint kept pending for the next call unless a newer roll
    //         replaced it (a failed removal also fail-stops the log).
    Status write_roll_checkpoint();

    // ---- Retention and compaction, for the cleaner (src/cleaner/) -------------------------
    // These never hold the append lock across I/O, so producers wait at most for a segment
    // swap. Calls are serialised with each other and with close() by the maintenance lock.

    // Raises the log start offset to `offset` (never lowers it; at most the log end), makes it
    // durable in the log-start-offset checkpoint, and only then removes the segments that lie
    // wholly below it, never the active one. A segment holding batches above the last roll
    // checkpoint written stays (a roll came after this call wrote the pending one):
    // write_roll_checkpoint() removes it once that roll's checkpoint is written. A reader
    // already inside a removed segment finishes through its open descriptors; reads below the new
    // start get offset_out_of_range / SubCode::below_log_start.
    // @return the bytes of the segments removed; io_error / no_space (the log fail-stops if the
    //         removal fails after the checkpoint); closed.
    Result<std::uint64_t> advance_log_start(Offset offset);

    // Rolls the active segment if it holds data and `force` is set or segment.ms has elapsed
    // since its first batch (so time retention and compaction can reach that data).
    // @return whether it rolled; the errors of append().
    Result<bool> roll_if_due(bool force);

    // Appends one batch, with its final offsets, to the segment being written.
    using BatchSink = std::function<Status(std::span<const std::byte>)>;

    // Replaces the sealed segments whose base offsets lie in [begin, end) by one new segment
    // with base offset `begin`, whose batches `write` produces through the sink it is handed
    // (offsets increasing, within [begin, end)). The new segment is built in a staging
    // directory, committed by a directory rename, then moved into place with fsyncs of files
    // and directories; a crash at any step reopens to either the old or the new segments
    // (docs/format.md, "Compaction swap"). Readers inside old segments keep their view.
    // REQUIRES: `begin` is a segment's base offset and `end` the base offset of a later one.
    // @return invalid_argument for a bad range or batch; `write`'s error; io_error / no_space
    //         (before the commit the log is unchanged; after it the log fail-stops and the
    //         next open finishes the swap); closed.
    Status replace_segments(Offset begin, Offset end,
                            const std::function<Status(const BatchSink&)>& write);

    // The config the log currently applies.
    LogConfig config() const;

    Offset log_start_offset() const noexcept {
        return Offset(start_.load(std::memory_order_acquire));
    }
    Offset log_end_offset() const noexcept { return Offset(end_.load(std::memory_order_acquire)); }
    std::vector<SegmentInfo> segments() const;
    std::uint64_t size_bytes() const;
    const RecoveryReport& recovery_report() const noexcept { return recovery_; }
    const std::string& dir() const noexcept { return dir_; }

  private:
    PartitionLog(fs::FileSystem& fs, std::string dir, LogConfig config, const Clock& clock);

    Status load();
    // Finishes a committed compaction swap left by a crash, or discards an uncommitted one.
    Status recover_swap();
    // The swap steps after the commit point (see replace_segments); idempotent.
    Status complete_swap(Offset begin, Offset end);
    Status remove_segment_files(const std::string& dir, Offset base);
    // Removes a directory and the files in it, if it exists.
    Status remove_tree(const std::string& path);
    Status remove_stray_files(const std::vector<std::string>& names);
    // Loads the producer state and aborted index (partition_log_txn.cpp). `names` lists the
    // directory (see TransactionState::load); `rescan_from` is the first segment recovery
    // validated, or the log end after a clean shutdown.
    Status load_transactions(const std::vector<std::string>& names,
                             const std::vector<Offset>& bases, Offset rescan_from);
    // A follower's view of the directory (partition_log_follow.cpp): the segment bases, oldest
    // first, with a compaction swap under way applied, so that its range shows as the cleaned
    // segment alone.
    struct FollowerListing {
        std::vector<Offset> bases;
        // The base of the cleaned segment whose files are still in cleaner.swap/, if any.
        std::optional<Offset> in_swap_dir;
    };
    // @return the listing; corruption if a swap manifest fails its checks; io_error.
    Result<FollowerListing> list_for_follower() const;
    // What a follower's refresh opened: the segments from base `from` on. They replace the
    // follower's own segments from `from` on, if it has any there.
    struct FollowedSegments {
        Offset from;
        std::vector<std::shared_ptr<Segment>> segments;
    };
    // For a follower's refresh: catches its last segment up and opens the segments listed
    // after it (all of them on the first refresh), or, if the writer removed segments the
    // follower never opened, those from the one left in their place. A segment that vanishes
    // between the listing and its open sends the follower back to list again, a few times at
    // most.
    // REQUIRES: append_mu_ held.
    // @return the segments, oldest first; not_found if segments kept vanishing; corruption;
    //         io_error.
    Result<FollowedSegments> follow_segments();
    // For a follower's refresh: brings the transaction state from `from` up to `to`, the log
    // end about to be published; `first` on the first refresh. Reads files, writes none.
    Status follow_transactions(Offset from, Offset to, bool first);
    // Calls `visit` with every batch from `from` up to `end`, below the log start too.
    Status scan_batches(Offset from, Offset end, const TransactionState::BatchVisitor& visit) const;
    // Seals the active .txnindex at roll and close; a failure stops the log.
    Status seal_txn_index();
    // Sets raw.hidden for the batches read_raw() returns.
    void mark_hidden(RawBatches& raw, Isolation isolation) const;
    // Producers idle since before this time are forgotten (producer.id.expiration.ms).
    // REQUIRES: append_mu_ held.
    std::int64_t producer_expiry_cutoff() const noexcept;
    // The last stable offset given the log end `log_end`, loaded before it.
    Offset stable_end(Offset log_end) const noexcept;
    // REQUIRES: append_mu_ held.
    // After a clean open, before the first change to the active segment: unseals its indexes
    // and removes the clean-shutdown marker (fail-stop if either fails).
    Status prepare_active_locked();
    Status roll(Offset new_base);
    // What a roll leaves for write_roll_checkpoint(): the new segment's base and the producer
    // state there.
    struct RollCheckpoint {
        Offset base;
        ProducerMap producers;
    };
    // Writes the snapshot at `checkpoint.base`, then the recovery point there.
    Status write_roll_checkpoint_files(const RollCheckpoint& checkpoint);
    // write_roll_checkpoint() without taking the maintenance lock. Compaction and retention
    // call it before they remove a batch: a replay after a crash must start from a snapshot
    // taken after every batch they remove, since it no longer finds those batches' producer
    // state in the log. REQUIRES: maintenance_mu_ held.
    Status write_pending_roll_checkpoint();
    // Removes the segments wholly below the log start offset, except those from the last roll
    // checkpoint written on while a newer one is pending. A failed removal fail-stops the log.
    // REQUIRES: maintenance_mu_ held.
    Result<std::uint64_t> remove_segments_below_start();
    Status flush_locked();
    Status fail_stop(const Status& cause);
    Status check_writable() const;
    std::shared_ptr<Segment> active() const;
    // The last segment whose base is <= offset, or null.
    std::shared_ptr<Segment> segment_for(Offset offset) const;
    // The first segment whose base is > base, or null.
    std::shared_ptr<Segment> segment_after(Offset base) const;

    fs::FileSystem& fs_;
    const std::string dir_;
    LogConfig config_;
    const Clock& clock_;
    RecoveryReport recovery_;
    // Set for followers: where their in-memory indexes live.
    std::shared_ptr<fs::FileSystem> index_fs_;

    std::mutex maintenance_mu_;  // serialises retention, compaction swaps and close()

    mutable std::shared_mutex segments_mu_;  // guards segments_ (the vector, not the segments)
    std::vector<std::shared_ptr<Segment>> segments_;
    // Raised whenever segments are removed or replaced, so a reader walking from one segment
    // to the next notices and looks its position up again.
    std::atomic<std::uint64_t> generation_{0};

    mutable std::mutex append_mu_;  // serialises writers; guards the fields below
    std::int64_t unflushed_messages_ = 0;
    std::int64_t last_flush_ms_ = 0;
    Status stopped_;  // set once: the reason the log refuses appends
    bool closed_ = false;
    // Opened clean and not written since: the clean-shutdown marker is still on disk and the
    // active segment still sealed.
    bool clean_on_disk_ = false;
    // The active segment, segments_.back(), which only roll() replaces; null in a follower.
    // Appends use it rather than active(), whose lock and reference count readers share.
    Segment* appending_ = nullptr;

    // Set by defer_roll_checkpoints(): a roll then leaves its checkpoint here and calls it.
    std::function<void()> wake_for_roll_checkpoint_;
    std::optional<RollCheckpoint> pending_roll_checkpoint_;
    // The base of the last roll checkpoint written, or the recovery point open read (0 when
    // none). While a newer checkpoint is pending, a replay after a crash starts from the
    // snapshot here, so advance_log_start() keeps the segments from here on.
    Offset checkpointed_base_{0};

    // Shares the fsyncs of sync_to() callers.
    GroupCommit group_commit_;

    // The producer state, open transactions and aborted index; appends update it under
    // append_mu_.
    TransactionState txn_;

    std::atomic<std::int64_t> start_{0};
    std::atomic<std::int64_t> end_{0};
};

}  // namespace brook::log

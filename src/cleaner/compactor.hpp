// Compaction of one partition log: keep the latest record of every key.
//
// A pass (compact()) works as Kafka's log cleaner does:
//   1. The dirty range runs from the state's first dirty offset to the first uncleanable
//      offset: the base of the active segment, or of the first segment holding a record newer
//      than min.compaction.lag.ms, whichever is lower.
//   2. One scan of the dirty range (scan_keys: offsets and keys only) fills the key map
//      (OffsetMap, within log.cleaner.dedupe.buffer.size) with the latest offset of every key,
//      and the live-offset bitmap (LiveOffsets, at most a quarter of that budget) with a bit
//      per surviving record. When either fills, the range ends at the first record that did
//      not fit; the rest waits for the next pass.
//   3. Every sealed segment below the end of that range is rewritten, consecutive segments
//      merged while what may survive of them stays within segment.bytes (a dirty segment
//      without a live bit counts nothing), keeping a record when its key is null, when no
//      later record of its key lies below the range end, and, for a tombstone, until
//      delete.retention.ms after a pass first saw it (BatchFilter). The state remembers when
//      the earliest kept tombstone expires, and a pass runs then even if nothing new is dirty.
//      Survivors keep their offsets, order, timestamps and headers: a batch kept whole is
//      copied byte for byte, one kept in part is re-encoded with its own codec and timestamp
//      type, and runs of the dirty range without a live bit are not read. A single segment
//      that would lose nothing is left alone.
//   Transactions: the range never reaches the segment holding the last stable offset, so
//      every transaction in it is complete. Records of aborted transactions (found through
//      PartitionLog::aborted_transactions) are removed and never enter the key map. Control
//      batches (commit and abort markers) are always kept, with their offsets, so the
//      .txnindex entries that name them stay valid; they are a few dozen bytes each.
//   4. Each rewritten group replaces its segments through PartitionLog::replace_segments.
//
// Thread safety: one pass per partition at a time (the caller holds the partition's cleaner
// lock); appends and reads go on meanwhile.
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "cleaner/cleaner_state.hpp"
#include "log/partition_log.hpp"

namespace brook::cleaner {

struct CompactionConfig {
    double min_cleanable_dirty_ratio = 0.5;  // min.cleanable.dirty.ratio
    std::int64_t min_compaction_lag_ms = 0;  // min.compaction.lag.ms
    std::int64_t max_compaction_lag_ms = std::numeric_limits<std::int64_t>::max();
    std::int64_t delete_retention_ms = 24LL * 60 * 60 * 1000;  // delete.retention.ms
    std::size_t dedupe_buffer_bytes = 128u << 20;              // log.cleaner.dedupe.buffer.size
};

// How dirty a log is, as describe_topic reports it and the cleaner decides by.
struct Cleanability {
    Offset first_dirty;             // the state's first dirty offset, at least the log start
    Offset first_uncleanable;       // where the dirty range ends
    std::uint64_t clean_bytes = 0;  // bytes of the segments below first_dirty
    std::uint64_t dirty_bytes = 0;  // bytes of the segments in [first_dirty, first_uncleanable)
    double dirty_ratio = 0;         // dirty / (clean + dirty), 0 for an empty log
    bool max_lag_exceeded = false;  // a dirty record is older than max.compaction.lag.ms
    bool tombstones_due = false;    // a tombstone kept by the last pass may now be removed
                                    // (set by compact() only)
    // True when a pass should run: dirty bytes exist and the ratio exceeds
    // min.cleanable.dirty.ratio or max.compaction.lag.ms has passed; or tombstones are due.
    bool cleanable = false;
};

struct CompactionResult {
    bool ran = false;                 // false when the log was not cleanable
    Offset cleaned_to;                // the pass compacted everything below this offset
    std::uint64_t bytes_read = 0;     // bytes of the segments rewritten
    std::uint64_t bytes_written = 0;  // bytes of their replacements
    std::uint64_t records_removed = 0;
};

// How dirty `log` is when everything below `first_dirty` has been compacted. The result's
// tombstones_due is false: only the CleanerState knows it, and compact() adds it.
// @return corruption / io_error from reading the log.
Result<Cleanability> measure(const log::PartitionLog& log, Offset first_dirty,
                             const CompactionConfig& config, std::int64_t now_ms);

// Runs one pass if the log is cleanable, or regardless with `force`.
// @return the log's errors (a failed swap leaves the log as replace_segments says); the
//         state is updated only by a pass that completed.
Result<CompactionResult> compact(log::PartitionLog& log, CleanerState& state,
                                 const CompactionConfig& config, std::int64_t now_ms,
                                 bool force = false);

}  // namespace brook::cleaner

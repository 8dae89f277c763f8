// BatchFilter: a compaction pass's decision, batch by batch, on which records survive, and the
// bytes that carry the survivors into the cleaned segment.
//
// A record at offset o is kept when it lies at or past the end of the key map (map_end), or:
//   - in the dirty range [first_dirty, map_end): when its bit is set in LiveOffsets (it is the
//     latest record of its key, has no key, or is a control record);
//   - below first_dirty (compacted before): unless the key map holds a later offset of its key;
// and, for a tombstone, until delete.retention.ms after a pass first saw it. Records of aborted
// transactions are removed; control batches are kept whole.
//
// A batch whose every record survives is copied byte for byte (its checksum verified first);
// one of which only some survive is re-encoded with its own codec, timestamp type and producer
// fields; one wholly inside the dirty range with no bit set is dropped without being decoded
// (the key map's scan verified it earlier in the same pass).
//
// Thread safety: one thread at a time (the pass that owns it).
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "cleaner/cleaner_state.hpp"
#include "cleaner/compactor.hpp"
#include "cleaner/live_offsets.hpp"
#include "cleaner/offset_map.hpp"
#include "log/producer_state.hpp"
#include "log/record_batch.hpp"

namespace brook::cleaner {

// What a pass knows once its key map is built.
struct PassKnowledge {
    const OffsetMap& map;
    const LiveOffsets& live;
    Offset first_dirty;
    Offset map_end;
    const std::vector<log::AbortedTransaction>& aborted;
    const CleanerState& state;
    const CompactionConfig& config;
    std::int64_t now_ms = 0;
};

// True for a data batch of a transaction that was aborted.
bool is_aborted(const log::BatchHeader& header,
                const std::vector<log::AbortedTransaction>& aborted) noexcept;

class BatchFilter {
  public:
    explicit BatchFilter(const PassKnowledge& pass) : pass_(pass) {}

    struct Outcome {
        std::uint64_t kept = 0;           // records kept
        std::uint64_t kept_dirty = 0;     // of them, in [first_dirty, map_end)
        std::uint64_t removed = 0;        // records removed (at or above `from`)
        std::uint64_t removed_clean = 0;  // of them, below first_dirty
        // The bytes to write for the batch: the batch itself or its survivors re-encoded;
        // empty when nothing survives (or when filter() was asked not to produce them).
        std::span<const std::byte> bytes;
    };

    // Decides the records at or above `from` of one whole batch (`header` parsed from it) and,
    // with `produce`, builds the bytes to write; they stay valid until the next call. Records
    // below `from` are dropped and not counted.
    // @return corruption if the batch fails its checksum or decoding; encode_batch's errors.
    Result<Outcome> filter(std::span<const std::byte> batch, const log::BatchHeader& header,
                           Offset from, bool produce);

    // When the earliest tombstone kept so far may be removed, or nullopt if none was kept.
    std::optional<std::int64_t> tombstones_due_ms() const noexcept { return tombstones_due_; }

  private:
    const PassKnowledge& pass_;
    std::vector<log::RecordView> views_;
    std::vector<log::HeaderView> header_views_;  // of views_; unused: records are copied whole
    std::vector<std::byte> decompressed_;
    std::vector<OffsetMap::KeyHash> hashes_;
    std::vector<bool> keep_;  // per record of the last batch decoded
    std::vector<std::byte> encoded_;
    std::optional<std::int64_t> tombstones_due_;
};

}  // namespace brook::cleaner

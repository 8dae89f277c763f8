// CleanerState: what the cleaner remembers about one partition between compaction passes.
//
// It holds the first dirty offset (everything below it was compacted by an earlier pass) and,
// for delete.retention.ms, when each range of offsets was first seen by a pass: a tombstone at
// offset o was first seen by the first pass whose range end lies above o. The store saves it in
// the metadata store after every pass (encode()/decode(), layout in cleaner_state_format.hpp),
// so a restart neither recompacts the log nor restarts tombstones' delete.retention.ms. Saved
// progress that is lost (a crash between a pass and its save) only makes the log look dirtier
// and keeps tombstones longer, never shorter.
//
// Thread safety: none; the store guards each partition's state with its own mutex.
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brook::cleaner {

class CleanerState {
  public:
    // Everything below this offset was compacted by an earlier pass.
    Offset first_dirty() const noexcept { return first_dirty_; }

    // When a pass first saw `offset`, or nullopt if no pass has yet.
    std::optional<std::int64_t> first_seen_ms(Offset offset) const noexcept;

    // Records a pass at `now_ms` that compacted everything below `end`. Ranges seen longer
    // than `forget_after_ms` ago are merged, so the state stays small.
    void record_pass(Offset end, std::int64_t now_ms, std::int64_t forget_after_ms);

    // When the earliest tombstone kept by the last pass may go (a pass is due then even with
    // nothing dirty), or nullopt if it kept none.
    std::optional<std::int64_t> tombstones_due_ms() const noexcept { return tombstones_due_ms_; }
    void set_tombstones_due_ms(std::optional<std::int64_t> due) noexcept {
        tombstones_due_ms_ = due;
    }

    // Raises the first dirty offset to the log start when retention removed what lay below.
    void clamp_to(Offset log_start) noexcept;
    // Lowers the first dirty offset (and the seen ranges) to the log end, for progress saved
    // before a crash cut the log's tail off: offsets written again since were never compacted.
    void limit_to(Offset log_end) noexcept;

    // The persistent form of the state.
    std::string encode() const;
    // @return corruption if the size, checksum or structure is wrong; not_supported for a
    //         record with a good checksum and an unknown version.
    static Result<CleanerState> decode(std::string_view bytes);

  private:
    struct Seen {
        Offset end;              // a pass saw every offset below this
        std::int64_t at_ms = 0;  // the time of that pass
    };
    // The most ranges kept; older ones merge into their successors (seen later, so their
    // tombstones are kept longer, never shorter).
    static constexpr std::size_t kMaxRanges = 64;  // = format::kMaxSeenRanges

    Offset first_dirty_{0};
    std::vector<Seen> seen_;  // ascending in both end and at_ms
    std::optional<std::int64_t> tombstones_due_ms_;
};

// The metadata key of a partition's saved state, and the prefix shared by a topic's keys
// (cleaner_state_format.hpp).
std::string progress_key(std::uint64_t topic_id, PartitionId partition);
std::string progress_key_prefix(std::uint64_t topic_id);

}  // namespace brook::cleaner

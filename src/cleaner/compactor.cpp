#include "cleaner/compactor.hpp"

#include "cleaner/offset_map.hpp"
#include "log/format.hpp"
#include "log/producer_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace brook::cleaner {
namespace {

// Bytes asked for per read of the log while cleaning.
constexpr std::size_t kReadBytes = 1u << 20;

// Calls `visit` with each batch holding offsets in [from, end), records below `from` removed.
template <typename Visit>
Status for_each_batch(const log::PartitionLog& log, Offset from, Offset end, Visit&& visit) {
    while (from < end) {
        BROOK_ASSIGN_OR_RETURN(auto batches, log.read_batches(from, kReadBytes));
        if (batches.empty()) break;
        for (auto& batch : batches) {
            if (batch.header.base_offset >= end) return Status::ok();
            from = batch.header.last_offset() + 1;
            BROOK_ASSIGN_OR_RETURN(const bool more, visit(batch));
            if (!more) return Status::ok();
        }
    }
    return Status::ok();
}

struct Group {
    Offset begin;
    Offset end;
    std::size_t segments = 0;
    std::uint64_t bytes = 0;
};

// Decides which records of the rewritten range survive.
class Retainer {
public:
    Retainer(const OffsetMap& map, Offset map_end, const CleanerState& state,
             const CompactionConfig& config, std::int64_t now_ms)
        : map_(map), map_end_(map_end), state_(state), config_(config), now_ms_(now_ms) {}

    // When the tombstone `record`, if kept, may be removed.
    std::int64_t tombstone_expiry(const log::Record& record) const {
        const auto seen = state_.first_seen_ms(record.offset);
        return seen.value_or(now_ms_) + config_.delete_retention_ms;
    }

    bool keep(const log::Record& record) const {
        if (record.offset >= map_end_ || !record.key) return true;
        const auto latest = map_.get(*record.key);
        if (latest && *latest > record.offset) return false;
        if (!record.value) {
            const auto seen = state_.first_seen_ms(record.offset);
            if (seen && now_ms_ - *seen >= config_.delete_retention_ms) return false;
        }
        return true;
    }

private:
    const OffsetMap& map_;
    const Offset map_end_;
    const CleanerState& state_;
    const CompactionConfig& config_;
    const std::int64_t now_ms_;
};

// True for a data batch of a transaction that was aborted.
bool aborted(const log::BatchHeader& header, const std::vector<log::AbortedTransaction>& aborted) {
    if (!header.is_transactional() || header.is_control()) return false;
    return std::any_of(aborted.begin(), aborted.end(), [&](const log::AbortedTransaction& e) {
        return e.producer_id == header.producer_id && e.first_offset <= header.base_offset &&
               header.last_offset() <= e.last_offset;
    });
}

Result<std::vector<std::byte>> reencode(const log::DecodedBatch& batch,
                                        std::vector<log::Record> records) {
    log::BatchOptions options;
    options.compression = batch.header.compression();
    options.timestamp_type = batch.header.timestamp_type();
    options.base_offset = records.front().offset;
    options.preserve_offsets = true;
    options.producer_id = batch.header.producer_id;
    options.producer_epoch = batch.header.producer_epoch;
    // The first kept record's own sequence, so base sequence + last offset delta stays the
    // sequence of the last kept record, as recovery's replay of the producer state needs.
    options.base_sequence =
        batch.header.base_sequence < 0
            ? -1
            : log::add_sequence(
                  batch.header.base_sequence,
                  static_cast<std::uint32_t>(records.front().offset - batch.header.base_offset));
    options.transactional = batch.header.is_transactional();
    options.control = batch.header.is_control();
    return log::encode_batch(records, options);
}

// Consecutive sealed segments below `limit`, grouped up to segment.bytes each.
std::vector<Group> plan_groups(const std::vector<log::SegmentInfo>& segments, Offset limit,
                               std::int64_t segment_bytes) {
    std::vector<Group> groups;
    for (std::size_t i = 0; i + 1 < segments.size() && segments[i].base_offset < limit; ++i) {
        const Offset next = segments[i + 1].base_offset;
        const auto size = segments[i].size_bytes;
        const bool fits = !groups.empty() &&
                          groups.back().bytes + size <= static_cast<std::uint64_t>(segment_bytes) &&
                          next - groups.back().begin <= std::numeric_limits<std::uint32_t>::max();
        if (fits) {
            groups.back().end = next;
            groups.back().bytes += size;
            ++groups.back().segments;
        } else {
            groups.push_back({segments[i].base_offset, next, 1, size});
        }
    }
    return groups;
}

}  // namespace

Result<Cleanability> measure(const log::PartitionLog& log, Offset first_dirty,
                             const CompactionConfig& config, std::int64_t now_ms) {
    const auto segments = log.segments();
    Cleanability c;
    c.first_dirty = std::max(first_dirty, log.log_start_offset());
    c.first_uncleanable = segments.back().base_offset;
    for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
        const auto& s = segments[i];
        if (s.base_offset < c.first_dirty) continue;
        // As in Kafka, a lag of 0 ignores timestamps (even ones from the future).
        if (config.min_compaction_lag_ms > 0 && s.max_timestamp &&
            now_ms - *s.max_timestamp < config.min_compaction_lag_ms) {
            c.first_uncleanable = s.base_offset;
            break;
        }
    }
    // Nothing at or past the last stable offset is cleaned: the segment holding it stays whole.
    const Offset stable = log.last_stable_offset();
    Offset holding = segments.front().base_offset;
    for (const auto& s : segments) {
        if (s.base_offset <= stable) holding = s.base_offset;
    }
    c.first_uncleanable = std::min(c.first_uncleanable, holding);
    c.first_uncleanable = std::max(c.first_uncleanable, c.first_dirty);
    for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
        const auto& s = segments[i];
        const Offset next = segments[i + 1].base_offset;
        if (next <= c.first_dirty) {
            c.clean_bytes += s.size_bytes;
        } else if (s.base_offset < c.first_uncleanable) {
            c.dirty_bytes += s.size_bytes;
        }
    }
    const auto total = c.clean_bytes + c.dirty_bytes;
    c.dirty_ratio = total == 0 ? 0.0 : static_cast<double>(c.dirty_bytes) / static_cast<double>(total);
    if (c.dirty_bytes > 0 && config.max_compaction_lag_ms != std::numeric_limits<std::int64_t>::max()) {
        // The first dirty batch holds the oldest uncompacted record.
        BROOK_ASSIGN_OR_RETURN(const auto batches, log.read(c.first_dirty, 1));
        if (!batches.empty()) {
            const std::int64_t oldest = batches.front().header.first_timestamp;
            c.max_lag_exceeded = now_ms - oldest > config.max_compaction_lag_ms;
        }
    }
    c.cleanable = c.dirty_bytes > 0 &&
                  (c.dirty_ratio > config.min_cleanable_dirty_ratio || c.max_lag_exceeded);
    return c;
}

Result<CompactionResult> compact(log::PartitionLog& log, CleanerState& state,
                                 const CompactionConfig& config, std::int64_t now_ms, bool force) {
    state.clamp_to(log.log_start_offset());
    BROOK_ASSIGN_OR_RETURN(Cleanability c, measure(log, state.first_dirty(), config, now_ms));
    c.tombstones_due = state.tombstones_due_ms() && *state.tombstones_due_ms() <= now_ms;
    c.cleanable = c.cleanable || c.tombstones_due;
    CompactionResult result;
    result.cleaned_to = c.first_dirty;
    if (!c.cleanable && !force) return result;

    // Aborted transactions' records are dropped and never enter the key map; markers are kept
    // (they hold no key of the topic).
    const auto aborted_txns = log.aborted_transactions(
        log.log_start_offset(), Offset(std::numeric_limits<std::int64_t>::max()));
    const auto skipped = [&](const log::BatchHeader& h) {
        return h.is_control() || aborted(h, aborted_txns);
    };

    // The key map over the dirty range, ending early if the budget runs out.
    OffsetMap map(config.dedupe_buffer_bytes,
                  static_cast<std::size_t>(c.first_uncleanable - c.first_dirty));
    Offset map_end = c.first_uncleanable;
    BROOK_RETURN_IF_ERROR(for_each_batch(
        log, c.first_dirty, c.first_uncleanable, [&](const log::DecodedBatch& batch) -> Result<bool> {
            if (skipped(batch.header)) return true;
            for (const auto& record : batch.records) {
                if (record.key && !map.put(*record.key, record.offset)) {
                    map_end = record.offset;
                    return false;
                }
            }
            return true;
        }));

    const Retainer retainer(map, map_end, state, config, now_ms);
    const log::LogConfig log_config = log.config();
    std::optional<std::int64_t> tombstones_due;
    for (const Group& group : plan_groups(log.segments(), map_end, log_config.segment_bytes)) {
        const Offset from = std::max(group.begin, log.log_start_offset());
        // A dry run first: a single segment that would lose nothing is left as it is.
        std::uint64_t removed = 0;
        BROOK_RETURN_IF_ERROR(for_each_batch(log, from, group.end, [&](const log::DecodedBatch& batch) -> Result<bool> {
            if (skipped(batch.header)) {
                if (!batch.header.is_control()) removed += batch.records.size();
                return true;
            }
            for (const auto& record : batch.records) {
                if (!retainer.keep(record)) {
                    ++removed;
                } else if (record.key && !record.value && record.offset < map_end) {
                    const auto expiry = retainer.tombstone_expiry(record);
                    tombstones_due = std::min(tombstones_due.value_or(expiry), expiry);
                }
            }
            return true;
        }));
        if (removed == 0 && group.segments == 1 && from == group.begin) continue;

        std::uint64_t written = 0;
        BROOK_RETURN_IF_ERROR(log.replace_segments(
            group.begin, group.end, [&](const log::PartitionLog::BatchSink& sink) -> Status {
                return for_each_batch(log, from, group.end, [&](log::DecodedBatch& batch) -> Result<bool> {
                    std::vector<log::Record> kept;
                    if (batch.header.is_control()) {
                        kept = std::move(batch.records);
                    } else if (!skipped(batch.header)) {
                        for (auto& record : batch.records) {
                            if (retainer.keep(record)) kept.push_back(std::move(record));
                        }
                    }
                    if (kept.empty()) return true;
                    BROOK_ASSIGN_OR_RETURN(const auto bytes, reencode(batch, std::move(kept)));
                    BROOK_RETURN_IF_ERROR(sink(bytes));
                    written += bytes.size();
                    return true;
                });
            }));
        result.bytes_read += group.bytes;
        result.bytes_written += written;
        result.records_removed += removed;
    }
    state.record_pass(map_end, now_ms, config.delete_retention_ms);
    state.set_tombstones_due_ms(tombstones_due);
    result.ran = true;
    result.cleaned_to = map_end;
    return result;
}

}  // namespace brook::cleaner

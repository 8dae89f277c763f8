// PartitionLog's read side: finding the segment that holds an offset, reading batches from it
// (decoded, raw, or into a caller's buffer, at either isolation level), finding an offset by
// timestamp, and describing the segments.
//
// A reader finds segments under the shared lock of the segment list and reads outside it,
// through the reference it holds. When compaction or retention changes the segments meanwhile
// (the log's generation counter moves), a read looks its offset up again instead of going on
// from a replaced segment. Errors, as partition_log.hpp lists them: offset_out_of_range (with
// the sub-code below_log_start or above_log_end) and corruption.
#include <fmt/format.h>

#include <algorithm>

#include "log/log_testing.hpp"
#include "log/partition_log.hpp"

namespace brook::log {

std::atomic<void (*)()> testing::after_read_bounds{nullptr};

std::shared_ptr<Segment> PartitionLog::segment_for(Offset offset) const {
    std::shared_lock lock(segments_mu_);
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](Offset o, const auto& s) { return o < s->base_offset(); });
    return it == segments_.begin() ? nullptr : *std::prev(it);
}

std::shared_ptr<Segment> PartitionLog::segment_after(Offset base) const {
    std::shared_lock lock(segments_mu_);
    auto it = std::upper_bound(segments_.begin(), segments_.end(), base,
                               [](Offset o, const auto& s) { return o < s->base_offset(); });
    return it == segments_.end() ? nullptr : *it;
}

Result<std::vector<DecodedBatch>> PartitionLog::read_batches(Offset from, std::size_t max_bytes,
                                                             Isolation isolation) const {
    BROOK_ASSIGN_OR_RETURN(const RawBatches raw, read_raw(from, max_bytes, isolation));
    return decode_raw(raw, from);
}

Result<RawBatches> PartitionLog::read_raw(Offset from, std::size_t max_bytes,
                                          Isolation isolation) const {
    RawBatches raw;
    BROOK_RETURN_IF_ERROR(read_raw_into(from, max_bytes, isolation, raw));
    return raw;
}

Status PartitionLog::read_raw_into(Offset from, std::size_t max_bytes, Isolation isolation,
                                   RawBatches& raw) const {
    raw.clear();
    // Loaded before the log end: a compaction that runs after this may remove records below
    // that end (see the check at the bottom).
    const std::uint64_t read_generation = generation_.load(std::memory_order_acquire);
    const Offset log_end = log_end_offset();
    const Offset start = log_start_offset();
    if (from < start) {
        return Status::error(Code::offset_out_of_range,
                             fmt::format("offset {} is below the log start offset {} of {}; "
                                         "seek to the log start or end",
                                         from.value(), start.value(), dir_),
                             SubCode::below_log_start);
    }
    if (from > log_end) {
        return Status::error(Code::offset_out_of_range,
                             fmt::format("offset {} is beyond the log end offset {} of {}",
                                         from.value(), log_end.value(), dir_),
                             SubCode::above_log_end);
    }
    const Offset end = isolation == Isolation::read_committed ? stable_end(log_end) : log_end;
    if (auto* hook = testing::after_read_bounds.load(std::memory_order_acquire)) hook();
    std::uint64_t generation = read_generation;
    auto segment = segment_for(from);
    while (segment && from < end) {
        // Read in place: a segment that is not the active one takes no more appends.
        const auto mode =
            segment != active() ? Segment::ReadMode::map_sealed : Segment::ReadMode::map_active;
        BROOK_RETURN_IF_ERROR(segment->read_raw_into(from, max_bytes, end, raw, mode));
        if (!raw.headers.empty()) {
            mark_hidden(raw, isolation);
            return Status::ok();
        }
        // Nothing at or after `from` here. If compaction or retention changed the segments
        // meanwhile, the next one is found from `from` again, not from a replaced segment.
        const std::uint64_t now = generation_.load(std::memory_order_acquire);
        if (now != generation) {
            generation = now;
            const auto again = segment_for(from);
            if (again && again != segment) {
                segment = again;
                continue;
            }
        }
        segment = segment_after(segment->base_offset());
    }
    if (from < log_start_offset()) {
        // Retention removed the segment between the check above and the lookup.
        return Status::error(Code::offset_out_of_range,
                             fmt::format("offset {} is below the log start offset {} of {}; "
                                         "seek to the log start or end",
                                         from.value(), log_start_offset().value(), dir_),
                             SubCode::below_log_start);
    }
    const auto last = active();
    if (from < end && (last->size() > 0 || last->base_offset() != end)) {
        // Segments changed since `end` was read: appends after it may have superseded the
        // records from `from` to `end`, and a roll and a compaction pass removed them. Nothing
        // is left to read below `end`; the next read starts from a newer log end.
        if (generation_.load(std::memory_order_acquire) != read_generation) return Status::ok();
        // The active segment is never compacted, so the batches it holds up to the published
        // log end must be there: its file lost them (truncated or damaged). Saying so beats
        // an endless empty read. Offsets missing from closed segments, with an empty active
        // segment, are what compaction leaves when it removes a log's last records.
        return Status::corruption(
            fmt::format("offsets {} to {} of {} are not in its segment files; the log is damaged",
                        from.value(), end.value() - 1, dir_));
    }
    return Status::ok();
}

Result<std::optional<Offset>> PartitionLog::offset_for_timestamp(std::int64_t timestamp_ms) const {
    const Offset end = log_end_offset();
    const Offset start = log_start_offset();
    for (auto segment = segment_for(start); segment;
         segment = segment_after(segment->base_offset())) {
        const auto max_ts = segment->max_timestamp();
        if (!max_ts || *max_ts < timestamp_ms) continue;
        BROOK_ASSIGN_OR_RETURN(const auto found, segment->offset_for_timestamp(timestamp_ms));
        if (found && *found >= start && *found < end) return found;
        if (found && *found < start) {
            // The match lies below the log start: look from the start on in this segment.
            for (Offset from = start;;) {
                BROOK_ASSIGN_OR_RETURN(const auto batches, segment->read(from, 1u << 20, end));
                if (batches.empty()) break;
                for (const auto& batch : batches) {
                    for (const auto& record : batch.records) {
                        if (record.timestamp >= timestamp_ms) return std::optional(record.offset);
                    }
                    from = batch.header.last_offset() + 1;
                }
            }
        }
    }
    return std::optional<Offset>();
}

std::vector<SegmentInfo> PartitionLog::segments() const {
    std::shared_lock lock(segments_mu_);
    std::vector<SegmentInfo> out;
    out.reserve(segments_.size());
    for (const auto& s : segments_)
        out.push_back({s->base_offset(), s->size(), s->max_timestamp()});
    return out;
}

std::uint64_t PartitionLog::size_bytes() const {
    std::uint64_t total = 0;
    for (const auto& info : segments()) total += info.size_bytes;
    return total;
}

}  // namespace brook::log

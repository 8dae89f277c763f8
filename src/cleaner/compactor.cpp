#include "cleaner/compactor.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "cleaner/batch_filter.hpp"
#include "cleaner/key_scan.hpp"
#include "cleaner/live_offsets.hpp"
#include "cleaner/offset_map.hpp"
#include "log/format.hpp"

namespace brook::cleaner {
namespace {

// Bytes asked for per read of the log while cleaning.
constexpr std::size_t kReadBytes = 1u << 20;
// The live-offset bitmap covers at least this many offsets, whatever the budget, and at most
// a quarter of log.cleaner.dedupe.buffer.size (the key map gets the rest).
constexpr std::size_t kMinLiveBits = std::size_t{1} << 16;

// The key map over the dirty range and what its scan learnt.
struct KeyMap {
    OffsetMap map;
    LiveOffsets live;
    Offset end;  // the dirty range ends here: the map holds every key below it
    // Per segment (as indexed in the pass's segment list): its records in [first_dirty, end).
    std::vector<std::uint64_t> dirty_records;
};

Status corruption_in(const log::RawBatches& raw, std::size_t at, const Status& status) {
    if (status.code() != Code::corruption) return status;
    return log::segment_corruption(raw.file, raw.position + at, status);
}

// Calls `visit(bytes, header)` with each whole batch holding offsets in [from, end), from one
// read of the log at a time. With `live`, runs of the dirty range with no live offset are
// skipped unread. Stops early when `visit` returns false.
template <typename Visit>
Status for_each_raw_batch(const log::PartitionLog& log, Offset from, Offset end, const KeyMap* live,
                          Offset first_dirty, Visit&& visit) {
    Offset pos = from;
    while (pos < end) {
        if (live && pos >= first_dirty && pos < live->end) {
            pos = live->live.next_set(pos, std::min(live->end, end));
            if (pos >= end) break;
        }
        BROOK_ASSIGN_OR_RETURN(const log::RawBatches raw, log.read_raw(pos, kReadBytes));
        if (raw.headers.empty()) break;
        std::size_t at = 0;
        for (const log::BatchHeader& header : raw.headers) {
            if (header.base_offset >= end) return Status::ok();
            pos = header.last_offset() + 1;
            const auto bytes = raw.batches().subspan(at, header.total_size());
            auto more = visit(bytes, header);
            if (!more.is_ok()) return corruption_in(raw, at, more.status());
            if (!*more) return Status::ok();
            at += header.total_size();
        }
    }
    return Status::ok();
}

// One pass over the dirty range: the latest offset of every key into the map, and a bit for
// every record that survives. Ends early, at the first record that does not fit, when the map
// is full or the bitmap too short.
Result<KeyMap> build_key_map(const log::PartitionLog& log,
                             const std::vector<log::SegmentInfo>& segments, const Cleanability& c,
                             const CompactionConfig& config,
                             const std::vector<log::AbortedTransaction>& aborted) {
    const auto span = static_cast<std::size_t>(c.first_uncleanable - c.first_dirty);
    const std::size_t budget = config.dedupe_buffer_bytes;
    const std::size_t live_bits = std::min(span, std::max(kMinLiveBits, budget / 4 * 8));
    KeyMap km{OffsetMap(budget - std::min(budget, live_bits / 8), span), LiveOffsets(),
              c.first_uncleanable, std::vector<std::uint64_t>(segments.size())};
    bool live_ready = false;
    std::vector<log::RecordView> scratch;
    std::vector<std::byte> decompressed;
    std::vector<KeyedOffset> keys;
    std::vector<OffsetMap::KeyHash> hashes;
    std::size_t segment = 0;
    const Status scanned = for_each_raw_batch(
        log, c.first_dirty, c.first_uncleanable, nullptr, c.first_dirty,
        [&](std::span<const std::byte> bytes, const log::BatchHeader& header) -> Result<bool> {
            while (segment + 1 < segments.size() &&
                   segments[segment + 1].base_offset <= header.base_offset) {
                ++segment;
            }
            // Aborted records never enter the map, and have no bit: they all go.
            if (is_aborted(header, aborted)) {
                if (header.base_offset >= c.first_dirty)
                    km.dirty_records[segment] += header.record_count;
                return true;
            }
            BROOK_RETURN_IF_ERROR(scan_keys(bytes, header, scratch, decompressed, keys));
            const bool control = header.is_control();
            hashes.resize(keys.size());
            for (std::size_t i = 0; i < keys.size(); ++i) {
                if (!control && keys[i].key) hashes[i] = OffsetMap::hash(*keys[i].key);
            }
            for (std::size_t i = 0; i < keys.size(); ++i) {
                const KeyedOffset& k = keys[i];
                if (!control && i + OffsetMap::kPrefetchDistance < keys.size() &&
                    keys[i + OffsetMap::kPrefetchDistance].key) {
                    km.map.prefetch(hashes[i + OffsetMap::kPrefetchDistance]);
                }
                if (k.offset < c.first_dirty) continue;
                if (!live_ready) {
                    km.live = LiveOffsets(
                        k.offset,
                        std::min<std::size_t>(
                            live_bits, static_cast<std::size_t>(c.first_uncleanable - k.offset)));
                    live_ready = true;
                }
                if (!km.live.covers(k.offset)) {
                    km.end = k.offset;
                    return false;
                }
                if (control || !k.key) {
                    km.live.set(k.offset);
                } else if (!km.map.put(hashes[i], k.offset)) {
                    km.end = k.offset;
                    return false;
                }
                ++km.dirty_records[segment];
            }
            return true;
        });
    BROOK_RETURN_IF_ERROR(scanned);
    km.map.for_each_offset([&](Offset o) { km.live.set(o); });
    return km;
}

struct Group {
    Offset begin;
    Offset end;
    std::size_t first = 0;  // index of its first segment
    std::size_t segments = 0;
    std::uint64_t bytes = 0;     // of the segments replaced
    std::uint64_t estimate = 0;  // at most this many bytes survive (before re-encoding)
};

// Consecutive sealed segments below `limit`, grouped while what may survive of them stays
// within segment.bytes: a segment of the dirty range without a live offset counts nothing,
// any other its whole size.
std::vector<Group> plan_groups(const std::vector<log::SegmentInfo>& segments, Offset limit,
                               std::int64_t segment_bytes, const KeyMap& km, Offset first_dirty) {
    std::vector<Group> groups;
    for (std::size_t i = 0; i + 1 < segments.size() && segments[i].base_offset < limit; ++i) {
        const Offset base = segments[i].base_offset;
        const Offset next = segments[i + 1].base_offset;
        const auto size = segments[i].size_bytes;
        const bool dead =
            base >= first_dirty && next <= km.end && km.live.next_set(base, next) == next;
        const std::uint64_t estimate = dead ? 0 : size;
        const bool fits =
            !groups.empty() &&
            groups.back().estimate + estimate <= static_cast<std::uint64_t>(segment_bytes) &&
            next - groups.back().begin <= std::numeric_limits<std::uint32_t>::max();
        if (fits) {
            groups.back().end = next;
            groups.back().bytes += size;
            groups.back().estimate += estimate;
            ++groups.back().segments;
        } else {
            groups.push_back({base, next, i, 1, size, estimate});
        }
    }
    return groups;
}

void take_earliest(std::optional<std::int64_t>& due, std::optional<std::int64_t> other) {
    if (other) due = std::min(due.value_or(*other), *other);
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
    c.dirty_ratio =
        total == 0 ? 0.0 : static_cast<double>(c.dirty_bytes) / static_cast<double>(total);
    if (c.dirty_bytes > 0 &&
        config.max_compaction_lag_ms != std::numeric_limits<std::int64_t>::max()) {
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
    const auto aborted = log.aborted_transactions(log.log_start_offset(),
                                                  Offset(std::numeric_limits<std::int64_t>::max()));
    const auto segments = log.segments();
    BROOK_ASSIGN_OR_RETURN(const KeyMap km, build_key_map(log, segments, c, config, aborted));
    const PassKnowledge pass{km.map,  km.live, c.first_dirty, km.end,
                             aborted, state,   config,        now_ms};

    std::optional<std::int64_t> tombstones_due;
    const std::int64_t segment_bytes = log.config().segment_bytes;
    for (const Group& group : plan_groups(segments, km.end, segment_bytes, km, c.first_dirty)) {
        const Offset from = std::max(group.begin, log.log_start_offset());
        // A single segment that would lose nothing is left as it is: a dry run looks for a
        // record to remove and stops at the first.
        if (group.segments == 1 && from == group.begin) {
            BatchFilter dry(pass);
            bool removes = false;
            BROOK_RETURN_IF_ERROR(for_each_raw_batch(
                log, from, group.end, nullptr, c.first_dirty,
                [&](std::span<const std::byte> bytes,
                    const log::BatchHeader& header) -> Result<bool> {
                    BROOK_ASSIGN_OR_RETURN(const auto outcome,
                                           dry.filter(bytes, header, from, false));
                    removes = outcome.removed > 0;
                    return !removes;
                }));
            if (!removes) {
                take_earliest(tombstones_due, dry.tombstones_due_ms());
                continue;
            }
        }

        BatchFilter filter(pass);
        std::uint64_t written = 0;
        std::uint64_t kept_dirty = 0;
        std::uint64_t removed_clean = 0;
        BROOK_RETURN_IF_ERROR(log.replace_segments(
            group.begin, group.end, [&](const log::PartitionLog::BatchSink& sink) -> Status {
                return for_each_raw_batch(log, from, group.end, &km, c.first_dirty,
                                          [&](std::span<const std::byte> bytes,
                                              const log::BatchHeader& header) -> Result<bool> {
                                              BROOK_ASSIGN_OR_RETURN(
                                                  const auto outcome,
                                                  filter.filter(bytes, header, from, true));
                                              kept_dirty += outcome.kept_dirty;
                                              removed_clean += outcome.removed_clean;
                                              if (outcome.bytes.empty()) return true;
                                              BROOK_RETURN_IF_ERROR(sink(outcome.bytes));
                                              written += outcome.bytes.size();
                                              return true;
                                          });
            }));
        take_earliest(tombstones_due, filter.tombstones_due_ms());
        std::uint64_t dirty = 0;
        for (std::size_t i = group.first; i < group.first + group.segments; ++i) {
            dirty += km.dirty_records[i];
        }
        result.bytes_read += group.bytes;
        result.bytes_written += written;
        result.records_removed += removed_clean + (dirty > kept_dirty ? dirty - kept_dirty : 0);
    }
    state.record_pass(km.end, now_ms, config.delete_retention_ms);
    state.set_tombstones_due_ms(tombstones_due);
    result.ran = true;
    result.cleaned_to = km.end;
    return result;
}

}  // namespace brook::cleaner

#include "cleaner/batch_filter.hpp"

#include <algorithm>

namespace brook::cleaner {
namespace {

Result<std::vector<std::byte>> reencode(const log::BatchHeader& header,
                                        std::span<const log::Record> records) {
    log::BatchOptions options;
    options.compression = header.compression();
    options.timestamp_type = header.timestamp_type();
    options.base_offset = records.front().offset;
    options.preserve_offsets = true;
    options.producer_id = header.producer_id;
    options.producer_epoch = header.producer_epoch;
    // The first kept record's own sequence, so base sequence + last offset delta stays the
    // sequence of the last kept record, as recovery's replay of the producer state needs.
    options.base_sequence =
        header.base_sequence < 0
            ? -1
            : log::add_sequence(
                  header.base_sequence,
                  static_cast<std::uint32_t>(records.front().offset - header.base_offset));
    options.transactional = header.is_transactional();
    options.control = header.is_control();
    return log::encode_batch(records, options);
}

}  // namespace

bool is_aborted(const log::BatchHeader& header,
                const std::vector<log::AbortedTransaction>& aborted) noexcept {
    if (!header.is_transactional() || header.is_control()) return false;
    return std::any_of(aborted.begin(), aborted.end(), [&](const log::AbortedTransaction& e) {
        return e.producer_id == header.producer_id && e.first_offset <= header.base_offset &&
               header.last_offset() <= e.last_offset;
    });
}

Result<BatchFilter::Outcome> BatchFilter::filter(std::span<const std::byte> batch,
                                                 const log::BatchHeader& header, Offset from,
                                                 bool produce) {
    Outcome out;
    const Offset base = header.base_offset;
    const Offset last = header.last_offset();
    if (is_aborted(header, pass_.aborted)) {
        if (base >= from) {
            out.removed = header.record_count;
            if (last < pass_.first_dirty) out.removed_clean = out.removed;
        }
        return out;
    }
    // Superseded as a whole: no need to decode it.
    if (base >= pass_.first_dirty && last < pass_.map_end && base >= from &&
        pass_.live.next_set(base, last + 1) == last + 1) {
        out.removed = header.record_count;
        return out;
    }

    views_.clear();
    header_views_.clear();
    BROOK_RETURN_IF_ERROR(
        log::decode_batch_views(batch, decompressed_, views_, header_views_).status());
    const bool control = header.is_control();
    // Records compacted before are looked up by key: hash them all, then look up with the
    // slots prefetched a few keys ahead.
    hashes_.resize(views_.size());
    bool lookups = false;
    for (std::size_t i = 0; i < views_.size(); ++i) {
        const auto& v = views_[i];
        if (!control && v.key && v.offset < pass_.first_dirty && v.offset < pass_.map_end) {
            hashes_[i] = OffsetMap::hash(*v.key);
            lookups = true;
        }
    }
    keep_.assign(views_.size(), false);
    for (std::size_t i = 0; i < views_.size(); ++i) {
        const auto& v = views_[i];
        const Offset o = v.offset;
        if (lookups && i + OffsetMap::kPrefetchDistance < views_.size()) {
            pass_.map.prefetch(hashes_[i + OffsetMap::kPrefetchDistance]);
        }
        if (o < from) continue;
        bool kept = true;
        if (!control && o < pass_.map_end) {
            if (o >= pass_.first_dirty) {
                kept = pass_.live.test(o);
            } else if (v.key) {
                const auto latest = pass_.map.get(hashes_[i]);
                kept = !(latest && *latest > o);
            }
            if (kept && v.key && !v.value) {
                // A tombstone stays for delete.retention.ms after a pass first saw it.
                const auto seen = pass_.state.first_seen_ms(o);
                const std::int64_t retention = pass_.config.delete_retention_ms;
                if (seen && pass_.now_ms - *seen >= retention) {
                    kept = false;
                } else {
                    const std::int64_t expiry = seen.value_or(pass_.now_ms) + retention;
                    tombstones_due_ = std::min(tombstones_due_.value_or(expiry), expiry);
                }
            }
        }
        keep_[i] = kept;
        if (kept) {
            ++out.kept;
            if (o >= pass_.first_dirty && o < pass_.map_end) ++out.kept_dirty;
        } else {
            ++out.removed;
            if (o < pass_.first_dirty) ++out.removed_clean;
        }
    }
    if (!produce || out.kept == 0) return out;
    if (out.kept == views_.size()) {
        out.bytes = batch;
        return out;
    }
    // Only some survive: decode them as owned records and encode them as a batch of their own.
    BROOK_ASSIGN_OR_RETURN(log::DecodedBatch decoded, log::decode_batch(batch));
    std::vector<log::Record> kept;
    kept.reserve(out.kept);
    for (std::size_t i = 0; i < decoded.records.size(); ++i) {
        if (keep_[i]) kept.push_back(std::move(decoded.records[i]));
    }
    BROOK_ASSIGN_OR_RETURN(encoded_, reencode(header, kept));
    out.bytes = encoded_;
    return out;
}

}  // namespace brook::cleaner

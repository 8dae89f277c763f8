// Segment's batch reads: viewed in the tail buffer's copies of the newest batches, copied out
// of the file with one read_at(), or viewed in place in a read-only mapping of it
// (fs::ReadMapping).
//
// The mapping covers the segment's published bytes when it is made, and for the active
// segment kActiveMapAhead bytes beyond its end, where the next appends land; a shared mapping
// shows them as they are written. Reads look only at published bytes, which the file always
// holds: torn tails are cut by recovery, before any reader exists, and a failed append cuts
// the file back to the published end, so the part past the file's end is never touched.
// Retention and compaction remove or replace the file, which leaves the mapping valid until
// its last reader lets go of it.
#include <fmt/format.h>

#include <algorithm>

#include "log/format.hpp"
#include "log/raw_batches.hpp"
#include "log/segment.hpp"

namespace brook::log {

std::shared_ptr<const fs::ReadMapping> Segment::read_mapping(std::uint64_t limit,
                                                             ReadMode mode) const {
    const bool grows = mode == ReadMode::map_active;
    std::lock_guard lock(mapping_mu_);
    if (mapping_ && mapping_->size() >= limit) return mapping_;
    bool& refused = grows ? active_mapping_refused_ : sealed_mapping_refused_;
    if (refused || follower_ || limit == 0) return nullptr;
    const std::uint64_t length = grows ? limit + kActiveMapAhead : limit;
    auto mapped = fs_.map_read_only(*log_, static_cast<std::size_t>(length), grows);
    if (!mapped.is_ok()) {
        // No mapping (a file system without them, or the address space or the number of
        // mappings exhausted): the segment is read with read_at().
        refused = true;
        return nullptr;
    }
    // The old mapping stays valid for the reads that hold it.
    mapping_ = std::move(mapped).value();
    return mapping_;
}

InPlaceBytes Segment::kept_mapping(std::uint64_t limit) const {
    std::shared_ptr<const fs::ReadMapping> mapping;
    {
        std::lock_guard lock(mapping_mu_);
        mapping = mapping_;
    }
    return in_place_of(std::move(mapping), limit);
}

InPlaceBytes Segment::in_place_of(std::shared_ptr<const fs::ReadMapping> mapping,
                                  std::uint64_t limit) const {
    if (!mapping || mapping->size() < limit) return {};
    InPlaceBytes bytes{
        .owner = nullptr, .data = mapping->data(), .start = 0, .end = limit, .first_offset = base_};
    bytes.owner = std::move(mapping);
    return bytes;
}

Result<RawBatches> Segment::read_raw(Offset from, std::size_t max_bytes, Offset end) const {
    RawBatches raw;
    BROOK_RETURN_IF_ERROR(read_raw_into(from, max_bytes, end, raw));
    return raw;
}

Status Segment::read_raw_into(Offset from, std::size_t max_bytes, Offset end, RawBatches& raw,
                              ReadMode mode) const {
    const std::uint64_t limit = size();
    raw.file = log_->path();
    raw.position = 0;
    raw.clear();
    // The bytes in memory first, the tail buffer's or else the mapping's: the batch is then
    // found in them too.
    InPlaceBytes in_place = tail_.find(from, limit);
    const bool from_tail = static_cast<bool>(in_place);
    if (!in_place && mode != ReadMode::copy) {
        in_place = in_place_of(read_mapping(limit, mode), limit);
    }
    BROOK_ASSIGN_OR_RETURN(const auto start, locate(from, limit, in_place ? &in_place : nullptr));
    if (!start) {
        if (!from_tail) tail_.want();
        return Status::ok();
    }
    raw.position = *start;
    const std::uint64_t first = *start;
    std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(limit - first, std::max(max_bytes, format::kBatchHeaderSize)));
    // The bytes from `first` on: those in memory (up to the published end), or a copy grown as
    // batches need.
    std::span<const std::byte> bytes;
    if (in_place) {
        bytes = in_place.view(first, limit);
    } else {
        // A copy that would end inside a batch ends at the last batch start the index knows
        // before that point: the next read starts there, so no byte is copied twice.
        if (first + want < limit) {
            const auto batch_start = offset_index_->last_position_at_or_below(first + want);
            if (batch_start && *batch_start > first) want = *batch_start - first;
        }
        raw.bytes.resize(want);
        BROOK_ASSIGN_OR_RETURN(const std::size_t got, log_->read_at(first, raw.bytes));
        if (got != want) {
            return corruption_at(first, Status::corruption("the file ends inside a batch"));
        }
        bytes = raw.bytes;
    }
    // Offsets only grow along a segment. The checksum does not cover a batch's base offset, so
    // this is what catches a damaged one before it returns records at wrong offsets.
    Offset min_base = base_;
    std::size_t pos = 0;
    while (first + pos < limit) {
        if (want - pos < format::kBatchHeaderSize && !raw.headers.empty()) break;
        const std::uint64_t position = first + pos;
        BROOK_ASSIGN_OR_RETURN(const BatchHeader header,
                               check_header(bytes.subspan(pos), position, limit));
        if (header.base_offset < min_base) {
            return corruption_at(position, Status::corruption(fmt::format(
                                               "base offset {} is below the expected {}",
                                               header.base_offset.value(), min_base.value())));
        }
        min_base = header.last_offset() + 1;
        if (header.base_offset >= end) break;
        if (pos + header.total_size() > want) {
            if (!raw.headers.empty()) break;
            // The first batch alone is larger than max_bytes: read the rest of it (bytes in
            // memory hold it already, as check_header() kept it within `limit`).
            if (!in_place) {
                raw.bytes.resize(header.total_size());
                BROOK_ASSIGN_OR_RETURN(
                    const std::size_t rest,
                    log_->read_at(first + want, std::span(raw.bytes).subspan(want)));
                if (rest != raw.bytes.size() - want) {
                    return corruption_at(position,
                                         Status::corruption("the file ends inside a batch"));
                }
                bytes = raw.bytes;
            }
            want = header.total_size();
        }
        raw.headers.push_back(header);
        pos += header.total_size();
    }
    if (in_place) {
        raw.in_place = bytes.first(pos);
        raw.owner = std::move(in_place.owner);
        raw.source = from_tail ? ReadSource::tail_buffer : ReadSource::mapping;
    } else {
        raw.bytes.resize(pos);
    }
    if (!from_tail && first + pos == limit) tail_.want();
    return Status::ok();
}

Result<std::vector<DecodedBatch>> Segment::read(Offset from, std::size_t max_bytes,
                                                Offset end) const {
    BROOK_ASSIGN_OR_RETURN(const RawBatches raw, read_raw(from, max_bytes, end));
    return decode_raw(raw, from);
}

}  // namespace brook::log

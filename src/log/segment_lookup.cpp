// Segment's lookups: the batch that holds an offset (locate(): from the offset index's entry,
// the segment's newest batch or the in-place bytes, whichever is closest, then batch header by
// batch header), the first offset at or after a timestamp (offset_for_timestamp(): from the
// time index, then one batch decoded), and the header reads and checks they share.
//
// Every header is checked against the bytes that remain before the limit the caller gives (the
// published end), so a damaged length never sends a lookup past the data; damage comes back
// as corruption naming the segment file and the position (corruption_at()).
#include <fmt/format.h>

#include <array>
#include <limits>

#include "log/format.hpp"
#include "log/raw_batches.hpp"
#include "log/segment.hpp"

namespace brook::log {

Status Segment::corruption_at(std::uint64_t position, const Status& cause) const {
    return segment_corruption(log_->path(), position, cause);
}

Result<BatchHeader> Segment::read_header(std::uint64_t position, std::uint64_t limit,
                                         const InPlaceBytes* in_place) const {
    std::array<std::byte, format::kBatchHeaderSize> buf;
    if (limit - position < buf.size()) {
        return corruption_at(
            position, Status::corruption(fmt::format(
                          "only {} bytes remain, less than a batch header", limit - position)));
    }
    if (in_place != nullptr && in_place->holds(position, position + buf.size())) {
        return check_header(in_place->view(position, position + buf.size()), position, limit);
    }
    BROOK_ASSIGN_OR_RETURN(const std::size_t got, log_->read_at(position, buf));
    if (got != buf.size()) {
        return corruption_at(position, Status::corruption("the file ends inside a batch header"));
    }
    return check_header(buf, position, limit);
}

Result<BatchHeader> Segment::check_header(std::span<const std::byte> bytes, std::uint64_t position,
                                          std::uint64_t limit) const {
    if (limit - position < format::kBatchHeaderSize) {
        return corruption_at(
            position, Status::corruption(fmt::format(
                          "only {} bytes remain, less than a batch header", limit - position)));
    }
    auto header = parse_batch_header(bytes);
    if (!header.is_ok()) return corruption_at(position, header.status());
    if (header->total_size() > limit - position) {
        return corruption_at(position, Status::corruption(fmt::format(
                                           "batch of {} bytes runs past the end of the data",
                                           header->total_size())));
    }
    return header;
}

Result<std::optional<std::uint64_t>> Segment::locate(Offset target, std::uint64_t limit,
                                                     const InPlaceBytes* in_place) const {
    std::uint64_t position = offset_index_->lookup(target).position;
    if (position >= limit) position = 0;
    if (in_place != nullptr && in_place->first_offset <= target && in_place->start > position) {
        position = in_place->start;
    }
    // Batch positions grow with offsets, so the newest batch at or below the target is as
    // good a start as an index entry, and at the tail a much closer one.
    if (const std::uint64_t last = last_batch_.load(std::memory_order_acquire); last != kNoBatch) {
        const std::uint64_t last_position = last & std::numeric_limits<std::uint32_t>::max();
        if (base_ + static_cast<std::int64_t>(last >> 32) <= target && last_position < limit &&
            last_position > position) {
            position = last_position;
        }
    }
    while (position < limit) {
        BROOK_ASSIGN_OR_RETURN(const BatchHeader header, read_header(position, limit, in_place));
        if (header.last_offset() >= target) return std::optional<std::uint64_t>(position);
        position += header.total_size();
    }
    return std::optional<std::uint64_t>();
}

namespace {

// What a time lookup decodes a batch with.
struct TimeLookupScratch {
    ReadBuffer buffer;
    std::vector<std::byte> decompressed;
    std::vector<RecordView> records;
    std::vector<HeaderView> headers;

    // Frees the memory if it grew past kKeptBytes (a lookup in an unusually large batch).
    void release_if_large() {
        const std::size_t bytes = buffer.capacity() + decompressed.capacity() +
                                  records.capacity() * sizeof(RecordView) +
                                  headers.capacity() * sizeof(HeaderView);
        if (bytes > kKeptBytes) *this = TimeLookupScratch();
    }
    static constexpr std::size_t kKeptBytes = 4 << 20;
};

}  // namespace

Result<std::optional<Offset>> Segment::offset_for_timestamp(std::int64_t target) const {
    const std::uint64_t limit = size();
    const auto max_ts = max_timestamp();
    if (!max_ts || *max_ts < target) return std::optional<Offset>();
    const auto before = time_index_->last_before(target);
    // Headers and batches from the kept mapping if it holds every published byte, else read.
    const InPlaceBytes mapped = kept_mapping(limit);
    const InPlaceBytes* in_place = mapped ? &mapped : nullptr;
    BROOK_ASSIGN_OR_RETURN(const auto start,
                           locate(before ? before->offset : base_, limit, in_place));
    std::uint64_t position = start.value_or(limit);
    // Views, not copies: only the matching record's offset is wanted from the batch. The memory
    // for them is kept per thread: a lookup reads and decodes one batch, and a run of lookups
    // then reuses memory already mapped in, where fresh vectors would fault a batch's worth of
    // pages in each time (malloc gives memory freed at the top of its heap back to the kernel).
    thread_local TimeLookupScratch scratch;
    struct ReleaseIfLarge {
        TimeLookupScratch& scratch;
        ~ReleaseIfLarge() { scratch.release_if_large(); }
    } release_if_large{scratch};
    auto& [buffer, decompressed, records, headers] = scratch;
    while (position < limit) {
        BROOK_ASSIGN_OR_RETURN(const BatchHeader header, read_header(position, limit, in_place));
        if (header.max_timestamp >= target) {
            std::span<const std::byte> batch;
            if (in_place) {
                batch = mapped.view(position, position + header.total_size());
            } else {
                buffer.resize(header.total_size());
                BROOK_ASSIGN_OR_RETURN(const std::size_t got, log_->read_at(position, buffer));
                if (got != buffer.size()) {
                    return corruption_at(position,
                                         Status::corruption("the file ends inside a batch"));
                }
                batch = buffer;
            }
            records.clear();
            headers.clear();
            records.reserve(header.record_count);
            const auto decoded = decode_batch_views(batch, decompressed, records, headers);
            if (!decoded.is_ok()) return corruption_at(position, decoded.status());
            for (const RecordView& record : records) {
                if (record.timestamp >= target) return std::optional<Offset>(record.offset);
            }
        }
        position += header.total_size();
    }
    return std::optional<Offset>();
}

}  // namespace brook::log

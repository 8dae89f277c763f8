// Segment::scan: the validating scan that recovery and index rebuilding share.
//
// Every batch is checked (header structure, length within the file, checksum, offsets
// increasing and within the segment's 32-bit relative range) and indexed exactly as append()
// would have indexed it, so rebuilt indexes equal the ones lost. A bad batch is a torn write
// only when it is in the last segment and no valid batch follows it; then it is cut off.
// Anything else is corruption, reported with file and position and never truncated.
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "log/batch_check.hpp"
#include "log/format.hpp"
#include "log/segment.hpp"

namespace brook::log {
namespace {

// How much of the log the search for a later valid batch reads at once.
constexpr std::size_t kSearchChunkBytes = 4u << 20;

}  // namespace

Result<BatchHeader> check_batch(const fs::File& log, std::uint64_t position, std::uint64_t limit,
                                Offset min_offset, Offset segment_base,
                                std::vector<std::byte>& buffer) {
    if (limit - position < format::kBatchHeaderSize) {
        return Status::corruption(
            fmt::format("{} trailing bytes are too few for a batch header", limit - position));
    }
    buffer.resize(format::kBatchHeaderSize);
    BROOK_ASSIGN_OR_RETURN(std::size_t got, log.read_at(position, buffer));
    if (got != buffer.size()) return Status::corruption("the file ends inside a batch header");
    BROOK_ASSIGN_OR_RETURN(const BatchHeader header, parse_batch_header(buffer));
    if (header.total_size() > limit - position) {
        return Status::corruption(
            fmt::format("a batch of {} bytes runs past the end of the file", header.total_size()));
    }
    if (header.base_offset < min_offset) {
        return Status::corruption(fmt::format("base offset {} is below the expected {}",
                                              header.base_offset.value(), min_offset.value()));
    }
    if (header.last_offset() - segment_base > std::numeric_limits<std::uint32_t>::max()) {
        return Status::corruption(fmt::format("last offset {} is out of range for the segment",
                                              header.last_offset().value()));
    }
    buffer.resize(header.total_size());
    BROOK_ASSIGN_OR_RETURN(got, log.read_at(position, buffer));
    if (got != buffer.size()) return Status::corruption("the file ends inside a batch");
    if (!checksum_matches(buffer)) {
        return Status::corruption(fmt::format("checksum mismatch in the batch at base offset {}",
                                              header.base_offset.value()));
    }
    return header;
}

Result<bool> valid_batch_follows(const fs::File& log, std::uint64_t from, std::uint64_t limit,
                                 Offset min_offset, Offset segment_base) {
    std::vector<std::byte> chunk;
    std::vector<std::byte> scratch;
    for (std::uint64_t start = from + 1; start + format::kBatchHeaderSize <= limit;) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(kSearchChunkBytes, limit - start));
        chunk.resize(want);
        BROOK_ASSIGN_OR_RETURN(const std::size_t got, log.read_at(start, chunk));
        if (got < format::kBatchHeaderSize) break;
        const std::size_t candidates = got - format::kBatchHeaderSize + 1;
        for (std::size_t i = 0; i < candidates; ++i) {
            if (chunk[i + format::kMagicPos] != std::byte{format::kCurrentMagic}) continue;
            const auto header = parse_batch_header(std::span(chunk).subspan(i));
            if (!header.is_ok() || header->base_offset < min_offset) continue;
            if (check_batch(log, start + i, limit, min_offset, segment_base, scratch).is_ok()) {
                return true;
            }
        }
        start += candidates;
    }
    return false;
}

Status Segment::scan(const LogConfig& config, TailRule tail) {
    BROOK_ASSIGN_OR_RETURN(const std::uint64_t limit, log_->size());
    std::vector<std::byte> buffer;
    std::uint64_t position = size();
    while (position < limit) {
        auto header = check_batch(*log_, position, limit, next_offset_, base_, buffer);
        if (header.is_ok()) {
            index_batch(position, *header, config);
            position += header->total_size();
            continue;
        }
        if (tail == TailRule::corrupt) return corruption_at(position, header.status());
        BROOK_ASSIGN_OR_RETURN(const bool follows,
                               valid_batch_follows(*log_, position, limit, next_offset_, base_));
        if (follows) {
            return corruption_at(position, Status::corruption(fmt::format(
                                               "{}, and valid batches follow it, so this is "
                                               "not a torn write",
                                               header.status().message())));
        }
        if (tail == TailRule::truncate) {
            // A torn tail: the write of the last batch never completed. Cut it off durably.
            BROOK_RETURN_IF_ERROR(log_->truncate(position));
            BROOK_RETURN_IF_ERROR(log_->sync());
        }
        break;
    }
    size_.store(position, std::memory_order_release);
    return Status::ok();
}

}  // namespace brook::log

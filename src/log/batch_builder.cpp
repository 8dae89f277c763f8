#include "log/batch_builder.hpp"

#include <fmt/format.h>

#include <cassert>
#include <cstring>

#include "log/compression.hpp"
#include "log/format.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"
#include "util/varint.hpp"

namespace brook::log {

using util::store_le;

BatchBuilder::BatchBuilder() : size_(format::kBatchHeaderSize) {}

BatchBuilder::BatchBuilder(std::vector<std::byte> buffer)
    : bytes_(std::move(buffer)), size_(format::kBatchHeaderSize) {}

std::size_t BatchBuilder::record_size(std::size_t fields, std::int64_t timestamp_delta,
                                      std::int32_t offset_delta) noexcept {
    const std::size_t body = 1 + varint_size(util::zigzag_encode(timestamp_delta)) +
                             varint_size(util::zigzag_encode(offset_delta)) + fields;
    return length_size(body) + body;
}

void BatchBuilder::reserve(std::size_t bytes) {
    if (size_ + bytes > bytes_.size()) bytes_.resize(size_ + bytes);
}

void BatchBuilder::grow(std::size_t size) {
    // Geometrically, so that a batch of n records is copied O(1) times per byte.
    bytes_.resize(std::max(size, std::max<std::size_t>(bytes_.size() * 2, 256)));
}

Result<std::vector<std::byte>> BatchBuilder::finish(const BatchOptions& options) {
    assert(!empty());
    std::vector<std::byte> out = std::move(bytes_);
    out.resize(size_);
    const std::uint32_t count = count_;
    const std::int32_t last_offset_delta = last_offset_delta_;
    const std::int64_t first_timestamp = first_timestamp_;
    const std::int64_t max_timestamp = max_timestamp_;
    *this = BatchBuilder();

    std::uint16_t attributes = format::kCodecNone;
    if (options.compression == Compression::zstd) {
        BROOK_ASSIGN_OR_RETURN(
            std::vector<std::byte> compressed,
            zstd_compress(std::span(out).subspan(format::kBatchHeaderSize), options.zstd_level));
        out.resize(format::kBatchHeaderSize);
        out.insert(out.end(), compressed.begin(), compressed.end());
        attributes = format::kCodecZstd;
    }
    if (out.size() > format::kMaxBatchBytes) {
        return Status::invalid_argument(fmt::format("the batch is {} bytes, above the limit of {}",
                                                    out.size(), format::kMaxBatchBytes));
    }
    if (options.timestamp_type == TimestampType::log_append_time) {
        attributes |= format::kTimestampTypeBit;
    }
    if (options.transactional) attributes |= format::kTransactionalBit;
    if (options.control) attributes |= format::kControlBit;

    std::byte* p = out.data();
    store_le<std::int64_t>(p + format::kBaseOffsetPos, options.base_offset.value());
    store_le<std::uint32_t>(p + format::kBatchLengthPos,
                            static_cast<std::uint32_t>(out.size() - format::kBatchLengthOverhead));
    store_le<std::uint8_t>(p + format::kMagicPos, format::kCurrentMagic);
    store_le<std::uint16_t>(p + format::kAttributesPos, attributes);
    store_le<std::uint32_t>(p + format::kLastOffsetDeltaPos,
                            static_cast<std::uint32_t>(last_offset_delta));
    store_le<std::int64_t>(p + format::kFirstTimestampPos, first_timestamp);
    store_le<std::int64_t>(p + format::kMaxTimestampPos, max_timestamp);
    store_le<std::int64_t>(p + format::kProducerIdPos, options.producer_id);
    store_le<std::int16_t>(p + format::kProducerEpochPos, options.producer_epoch);
    store_le<std::int32_t>(p + format::kBaseSequencePos, options.base_sequence);
    store_le<std::uint32_t>(p + format::kRecordCountPos, count);
    store_le<std::uint64_t>(
        p + format::kChecksumPos,
        util::xxh3_64(std::span<const std::byte>(out).subspan(format::kAttributesPos)));
    return out;
}

}  // namespace brook::log

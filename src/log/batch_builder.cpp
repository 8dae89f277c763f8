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
namespace {

using util::store_le;

std::byte* put_varint(std::byte* p, std::uint64_t zigzagged) noexcept {
    while (zigzagged >= 0x80) {
        *p++ = static_cast<std::byte>((zigzagged & 0x7f) | 0x80);
        zigzagged >>= 7;
    }
    *p++ = static_cast<std::byte>(zigzagged);
    return p;
}

// Timestamp deltas wrap, so that any pair of int64 timestamps round-trips.
std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

std::uint64_t length_zigzag(std::size_t length) noexcept {
    return util::zigzag_encode(static_cast<std::int32_t>(length));
}

}  // namespace

BatchBuilder::BatchBuilder() : size_(format::kBatchHeaderSize) {}

BatchBuilder::BatchBuilder(std::vector<std::byte> buffer)
    : bytes_(std::move(buffer)), size_(format::kBatchHeaderSize) {}

std::size_t BatchBuilder::length_size(std::size_t length) noexcept {
    return varint_size(length_zigzag(length));
}

std::size_t BatchBuilder::record_size(std::size_t fields, std::int64_t timestamp_delta,
                                      std::int32_t offset_delta) noexcept {
    const std::size_t body = 1 + varint_size(util::zigzag_encode(timestamp_delta)) +
                             varint_size(util::zigzag_encode(offset_delta)) + fields;
    return length_size(body) + body;
}

std::byte* BatchBuilder::put_length(std::byte* p, std::size_t length) noexcept {
    return put_varint(p, length_zigzag(length));
}

std::byte* BatchBuilder::put_bytes(std::byte* p, const std::string& s) noexcept {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    return p + s.size();
}

std::byte* BatchBuilder::put_nullable(std::byte* p, const std::optional<std::string>& s) noexcept {
    if (!s) return put_varint(p, util::zigzag_encode(std::int32_t{-1}));
    return put_bytes(put_length(p, s->size()), *s);
}

void BatchBuilder::reserve(std::size_t bytes) {
    if (size_ + bytes > bytes_.size()) bytes_.resize(size_ + bytes);
}

std::byte* BatchBuilder::begin_record(std::int64_t timestamp, std::int32_t offset_delta,
                                      std::size_t fields) {
    assert(offset_delta > last_offset_delta_);
    if (count_ == 0) {
        first_timestamp_ = timestamp;
        max_timestamp_ = timestamp;
    } else {
        max_timestamp_ = std::max(max_timestamp_, timestamp);
    }
    const std::int64_t timestamp_delta = wrapping_sub(timestamp, first_timestamp_);
    const std::size_t body = 1 + varint_size(util::zigzag_encode(timestamp_delta)) +
                             varint_size(util::zigzag_encode(offset_delta)) + fields;
    const std::size_t total = length_size(body) + body;
    // Grow geometrically, so that a batch of n records is copied O(1) times per byte.
    if (size_ + total > bytes_.size()) {
        bytes_.resize(std::max(size_ + total, std::max<std::size_t>(bytes_.size() * 2, 256)));
    }
    std::byte* p = bytes_.data() + size_;
    size_ += total;
    record_end_ = size_;
    ++count_;
    last_offset_delta_ = offset_delta;
    p = put_length(p, body);
    *p++ = std::byte{0};  // attributes
    p = put_varint(p, util::zigzag_encode(timestamp_delta));
    return put_varint(p, util::zigzag_encode(offset_delta));
}

void BatchBuilder::end_record([[maybe_unused]] std::byte* end) noexcept {
    assert(end == bytes_.data() + record_end_);
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

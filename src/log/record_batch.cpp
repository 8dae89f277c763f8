#include "log/record_batch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <limits>
#include <string_view>

#include "log/batch_builder.hpp"
#include "log/compression.hpp"
#include "log/format.hpp"
#include "log/record_reader.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"
#include "util/varint.hpp"

namespace brook::log {
namespace {

using util::load_le;
using util::store_le;

// Cap on a zstd batch's decompressed records section. The encoder refuses to exceed it, so
// every batch it writes can be read back.
constexpr std::size_t kMaxUncompressedRecordsBytes = std::size_t{256} << 20;

std::uint16_t codec_of(std::uint16_t attributes) noexcept {
    return attributes & format::kCompressionMask;
}

std::uint64_t compute_checksum(std::span<const std::byte> batch) noexcept {
    return util::xxh3_64(batch.subspan(format::kAttributesPos));
}

// Checks everything about a record that could make it unencodable within `limit` bytes, so
// that the encoder never casts an oversized length to a varint.
Status check_record_sizes(const Record& r, std::size_t i, std::size_t limit) {
    std::size_t total = (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
    for (const Header& h : r.headers) {
        total += h.key.size() + (h.value ? h.value->size() : 0);
        if (total > limit) break;
    }
    if (total > limit || r.headers.size() > limit) {
        return Status::invalid_argument(
            fmt::format("record {} is too large for one batch (limit {} bytes)", i, limit));
    }
    return Status::ok();
}

}  // namespace

std::size_t BatchHeader::total_size() const noexcept {
    return std::size_t{length} + format::kBatchLengthOverhead;
}

Compression BatchHeader::compression() const noexcept {
    return codec_of(attributes) == format::kCodecZstd ? Compression::zstd : Compression::none;
}

TimestampType BatchHeader::timestamp_type() const noexcept {
    return (attributes & format::kTimestampTypeBit) != 0 ? TimestampType::log_append_time
                                                         : TimestampType::create_time;
}

bool BatchHeader::is_transactional() const noexcept {
    return (attributes & format::kTransactionalBit) != 0;
}

bool BatchHeader::is_control() const noexcept {
    return (attributes & format::kControlBit) != 0;
}

Result<std::vector<std::byte>> encode_batch(std::span<const Record> records,
                                            const BatchOptions& options) {
    if (records.empty()) return Status::invalid_argument("a batch needs at least one record");
    if (records.size() > format::kMaxRecordsPerBatch) {
        return Status::invalid_argument(fmt::format("{} records exceed the limit of {} per batch",
                                                    records.size(), format::kMaxRecordsPerBatch));
    }
    const Offset base = options.base_offset;
    if (base.value() < 0) {
        return Status::invalid_argument(fmt::format("base offset {} is negative", base.value()));
    }
    const bool compress = options.compression == Compression::zstd;
    const std::size_t section_limit =
        compress ? kMaxUncompressedRecordsBytes : format::kMaxBatchBytes - format::kBatchHeaderSize;

    BatchBuilder builder;
    // Room for the records up front (their bytes plus a few of framing each), so that the
    // batch is not moved while it grows.
    std::size_t estimate = 0;
    for (const Record& r : records) {
        estimate += 16 + (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
        if (estimate > section_limit) break;
    }
    builder.reserve(std::min(estimate, section_limit));
    std::int64_t previous_delta = -1;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        std::int64_t delta = static_cast<std::int64_t>(i);
        if (options.preserve_offsets) {
            if (r.offset < base || r.offset - base > std::numeric_limits<std::int32_t>::max()) {
                return Status::invalid_argument(fmt::format(
                    "record {} has offset {}, outside [{}, {}]", i, r.offset.value(), base.value(),
                    base.value() + std::numeric_limits<std::int32_t>::max()));
            }
            delta = r.offset - base;
            if (delta <= previous_delta) {
                return Status::invalid_argument(
                    fmt::format("record {} has offset {}, not above the previous record's {}", i,
                                r.offset.value(), base.value() + previous_delta));
            }
        }
        previous_delta = delta;

        BROOK_RETURN_IF_ERROR(check_record_sizes(r, i, section_limit));
        const std::span<const Header> headers(r.headers);
        builder.add(r.key, r.value, headers, r.timestamp, static_cast<std::int32_t>(delta),
                    BatchBuilder::fields_size(r.key, r.value, headers));
        if (builder.size_bytes() - format::kBatchHeaderSize > section_limit) {
            return Status::invalid_argument(fmt::format(
                "the records exceed the limit of {} bytes for one batch", section_limit));
        }
    }
    if (base.value() > std::numeric_limits<std::int64_t>::max() - previous_delta) {
        return Status::invalid_argument(
            fmt::format("base offset {} leaves no room for the batch's offsets", base.value()));
    }
    return builder.finish(options);
}

Result<BatchHeader> parse_batch_header(std::span<const std::byte> bytes) {
    if (bytes.size() < format::kBatchHeaderSize) {
        return Status::corruption(fmt::format("batch header truncated: {} of {} bytes",
                                              bytes.size(), format::kBatchHeaderSize));
    }
    const std::byte* p = bytes.data();
    BatchHeader h;
    h.base_offset = Offset(load_le<std::int64_t>(p + format::kBaseOffsetPos));
    h.length = load_le<std::uint32_t>(p + format::kBatchLengthPos);
    h.magic = load_le<std::uint8_t>(p + format::kMagicPos);
    h.checksum = load_le<std::uint64_t>(p + format::kChecksumPos);
    h.attributes = load_le<std::uint16_t>(p + format::kAttributesPos);
    h.last_offset_delta = load_le<std::uint32_t>(p + format::kLastOffsetDeltaPos);
    h.first_timestamp = load_le<std::int64_t>(p + format::kFirstTimestampPos);
    h.max_timestamp = load_le<std::int64_t>(p + format::kMaxTimestampPos);
    h.producer_id = load_le<std::int64_t>(p + format::kProducerIdPos);
    h.producer_epoch = load_le<std::int16_t>(p + format::kProducerEpochPos);
    h.base_sequence = load_le<std::int32_t>(p + format::kBaseSequencePos);
    h.record_count = load_le<std::uint32_t>(p + format::kRecordCountPos);

    const auto bad = [&](std::string_view what) {
        return Status::corruption(
            fmt::format("batch at base offset {}: {}", h.base_offset.value(), what));
    };
    if (h.magic != format::kCurrentMagic) {
        return bad(fmt::format("unknown magic {}", h.magic));
    }
    if (h.length < format::kBatchHeaderSize - format::kBatchLengthOverhead ||
        h.total_size() > format::kMaxBatchBytes) {
        return bad(fmt::format("length {} is outside [{}, {}]", h.length,
                               format::kBatchHeaderSize - format::kBatchLengthOverhead,
                               format::kMaxBatchBytes - format::kBatchLengthOverhead));
    }
    if ((h.attributes & ~format::kKnownAttributeBits) != 0) {
        return bad(fmt::format("attributes {:#x} have unknown bits set", h.attributes));
    }
    if (h.base_offset.value() < 0) return bad("base offset is negative");
    const std::size_t records_bytes = h.total_size() - format::kBatchHeaderSize;
    const std::size_t max_records = codec_of(h.attributes) == format::kCodecNone
                                        ? records_bytes / detail::kMinRecordSize
                                        : std::size_t{format::kMaxRecordsPerBatch};
    if (h.record_count < 1 || h.record_count > max_records ||
        h.record_count > format::kMaxRecordsPerBatch) {
        return bad(
            fmt::format("record count {} is impossible for length {}", h.record_count, h.length));
    }
    if (h.last_offset_delta < h.record_count - 1 ||
        h.last_offset_delta >
            static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max()) ||
        h.base_offset.value() >
            std::numeric_limits<std::int64_t>::max() - std::int64_t{h.last_offset_delta}) {
        return bad(fmt::format("last offset delta {} is impossible for record count {}",
                               h.last_offset_delta, h.record_count));
    }
    if (h.max_timestamp < h.first_timestamp) {
        return bad(fmt::format("max timestamp {} is below first timestamp {}", h.max_timestamp,
                               h.first_timestamp));
    }
    return h;
}

bool checksum_matches(std::span<const std::byte> batch) noexcept {
    if (batch.size() < format::kBatchHeaderSize) return false;
    return load_le<std::uint64_t>(batch.data() + format::kChecksumPos) == compute_checksum(batch);
}

namespace {

std::optional<std::string> to_string(std::optional<std::string_view> view) {
    if (!view) return std::nullopt;
    return std::string(*view);
}

// decode_batch_views, with or without read_short_record().
Result<BatchHeader> decode_views(std::span<const std::byte> batch,
                                 std::vector<std::byte>& decompressed,
                                 std::vector<RecordView>& records, std::vector<HeaderView>& headers,
                                 bool short_path) {
    BROOK_ASSIGN_OR_RETURN(BatchHeader header, parse_batch_header(batch));
    if (batch.size() != header.total_size()) {
        return Status::corruption(
            fmt::format("batch at base offset {} is {} bytes but its length field says {}",
                        header.base_offset.value(), batch.size(), header.total_size()));
    }
    const std::uint64_t computed = compute_checksum(batch);
    if (computed != header.checksum) {
        return Status::corruption(
            fmt::format("batch checksum mismatch at base offset {}: stored {:#018x}, computed "
                        "{:#018x}",
                        header.base_offset.value(), header.checksum, computed));
    }
    std::span<const std::byte> section = batch.subspan(format::kRecordsPos);
    switch (codec_of(header.attributes)) {
        case format::kCodecNone: break;
        case format::kCodecZstd: {
            auto r = zstd_decompress(section, kMaxUncompressedRecordsBytes);
            if (!r) {
                return Status::corruption(fmt::format("batch at base offset {}: {}",
                                                      header.base_offset.value(),
                                                      r.status().message()));
            }
            decompressed = std::move(r).value();
            section = decompressed;
            break;
        }
        default:
            return Status::not_supported(
                fmt::format("batch at base offset {} uses unsupported compression codec {}",
                            header.base_offset.value(), codec_of(header.attributes)));
    }
    detail::RecordReader reader(header, section);
    BROOK_RETURN_IF_ERROR(short_path ? reader.read_all<true>(records, headers)
                                     : reader.read_all<false>(records, headers));
    return header;
}

}  // namespace

Result<BatchHeader> decode_batch_views(std::span<const std::byte> batch,
                                       std::vector<std::byte>& decompressed,
                                       std::vector<RecordView>& records,
                                       std::vector<HeaderView>& headers) {
    return decode_views(batch, decompressed, records, headers, true);
}

Result<BatchHeader> decode_batch_views_general(std::span<const std::byte> batch,
                                               std::vector<std::byte>& decompressed,
                                               std::vector<RecordView>& records,
                                               std::vector<HeaderView>& headers) {
    return decode_views(batch, decompressed, records, headers, false);
}

Result<DecodedBatch> decode_batch(std::span<const std::byte> batch) {
    std::vector<std::byte> decompressed;
    std::vector<RecordView> views;
    std::vector<HeaderView> header_views;
    BROOK_ASSIGN_OR_RETURN(const BatchHeader header,
                           decode_batch_views(batch, decompressed, views, header_views));
    DecodedBatch decoded{header, {}};
    decoded.records.reserve(views.size());
    for (RecordView& view : views) {
        Record& r = decoded.records.emplace_back();
        r.key = to_string(view.key);
        r.value = to_string(view.value);
        r.headers.reserve(view.header_count);
        for (const HeaderView& h : view.headers_of(header_views)) {
            r.headers.push_back(Header{std::string(h.key), to_string(h.value)});
        }
        r.timestamp = view.timestamp;
        r.offset = view.offset;
    }
    return decoded;
}

void set_base_offset(std::span<std::byte> batch, Offset base) noexcept {
    assert(batch.size() >= format::kBatchHeaderSize);
    if (batch.size() < format::kBatchHeaderSize) return;
    store_le<std::int64_t>(batch.data() + format::kBaseOffsetPos, base.value());
}

void set_log_append_time(std::span<std::byte> batch, std::int64_t now_ms) noexcept {
    assert(batch.size() >= format::kBatchHeaderSize);
    if (batch.size() < format::kBatchHeaderSize) return;
    std::byte* p = batch.data();
    const auto attributes = load_le<std::uint16_t>(p + format::kAttributesPos);
    store_le<std::uint16_t>(p + format::kAttributesPos,
                            static_cast<std::uint16_t>(attributes | format::kTimestampTypeBit));
    store_le<std::int64_t>(p + format::kFirstTimestampPos, now_ms);
    store_le<std::int64_t>(p + format::kMaxTimestampPos, now_ms);
    store_le<std::uint64_t>(p + format::kChecksumPos, compute_checksum(batch));
}

}  // namespace brook::log

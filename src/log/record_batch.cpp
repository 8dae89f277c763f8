#include "log/record_batch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <limits>
#include <string_view>

#include "log/batch_builder.hpp"
#include "log/compression.hpp"
#include "log/format.hpp"
#include "log/short_record.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"
#include "util/varint.hpp"

namespace brook::log {
namespace {

using util::load_le;
using util::store_le;

// The smallest encoded record: one byte each for the length, attributes, timestamp delta,
// offset delta, key length, value length and header count.
constexpr std::size_t kMinRecordSize = 7;
// The smallest encoded header: one byte each for the key length and the value length.
constexpr std::size_t kMinHeaderSize = 2;
// Cap on a zstd batch's decompressed records section. The encoder refuses to exceed it, so
// every batch it writes can be read back.
constexpr std::size_t kMaxUncompressedRecordsBytes = std::size_t{256} << 20;

std::uint16_t codec_of(std::uint16_t attributes) noexcept {
    return attributes & format::kCompressionMask;
}

std::uint64_t compute_checksum(std::span<const std::byte> batch) noexcept {
    return util::xxh3_64(batch.subspan(format::kAttributesPos));
}

// Timestamp deltas wrap, so that any pair of int64 timestamps round-trips.
std::int64_t wrapping_add(std::int64_t a, std::int64_t b) noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
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

// Decodes the records section of a batch whose header has already been checked. A record of
// the common shape takes read_short_record(); the others come here, read through raw pointers
// with one- and two-byte varints inline; every failure leaves through fail_record(), out of
// line, which keeps the error in error_.
class RecordReader {
  public:
    RecordReader(const BatchHeader& header, std::span<const std::byte> bytes)
        : header_(header),
          begin_(bytes.data()),
          p_(bytes.data()),
          end_(bytes.data() + bytes.size()),
          timestamp_type_(header.timestamp_type()) {}

    // Appends the batch's records to `records` and their headers to `headers`, as views into
    // the bytes, trying read_short_record() first for each if `kShortPath`.
    template <bool kShortPath>
    Status read_all(std::vector<RecordView>& records, std::vector<HeaderView>& headers) {
        const auto size = static_cast<std::size_t>(end_ - begin_);
        if (header_.record_count > size / kMinRecordSize) {
            return fail(fmt::format("record count {} is impossible for {} bytes of records",
                                    header_.record_count, size));
        }
        records.reserve(records.size() + header_.record_count);
        std::int64_t previous_delta = -1;
        std::uint32_t i = 0;
        if (kShortPath) {
            i = read_short_records(p_, end_, header_, timestamp_type_, previous_delta,
                                   header_.record_count, records);
        }
        for (; i < header_.record_count; ++i) {
            if (kShortPath &&
                read_short_record(p_, end_, header_, timestamp_type_, previous_delta, records)) {
                continue;
            }
            index_ = i;
            if (!read_record(previous_delta, records, headers)) [[unlikely]] {
                return std::move(error_);
            }
        }
        if (previous_delta != header_.last_offset_delta) {
            return fail(fmt::format("last record has offset delta {} but the header says {}",
                                    previous_delta, header_.last_offset_delta));
        }
        if (p_ != end_) {
            return fail(fmt::format("{} trailing bytes after the last record", end_ - p_));
        }
        return Status::ok();
    }

  private:
    Status fail(std::string what) const {
        return Status::corruption(
            fmt::format("batch at base offset {}: {}", header_.base_offset.value(), what));
    }
    // Keeps the error for the record being read. @return false, for the caller to return.
    [[gnu::cold, gnu::noinline]] bool fail_record(std::string_view what) {
        error_ = fail(fmt::format("record {} at byte {}: {}", index_, p_ - begin_, what));
        return false;
    }
    [[gnu::cold, gnu::noinline]] bool fail_overrun(std::string_view field) {
        return fail_record(fmt::format("{} varint overruns the record", field));
    }

    [[gnu::cold, gnu::noinline]] bool fail_length(std::string_view field, std::int32_t len,
                                                  const std::byte* limit) {
        if (len < 0) return fail_record(fmt::format("{} length {} is negative", field, len));
        return fail_record(fmt::format("{} length {} overruns the record's {} remaining bytes",
                                       field, len, limit - p_));
    }

    // Reads a varint (U = uint32_t) or varlong (uint64_t) ending at or before `limit` into
    // `out`. @return false, leaving the position unchanged, if it overruns `limit` or its type.
    // Varints of one or two bytes (below 2^14) take the inline path.
    template <typename U, typename S>
    bool next_varint(const std::byte* limit, S& out) noexcept {
        if (p_ < limit) [[likely]] {
            const auto first = std::to_integer<U>(*p_);
            if (first < 0x80) [[likely]] {
                ++p_;
                out = util::zigzag_decode(first);
                return true;
            }
            if (limit - p_ >= 2) [[likely]] {
                const auto second = std::to_integer<U>(p_[1]);
                if (second < 0x80) [[likely]] {
                    p_ += 2;
                    out = util::zigzag_decode(static_cast<U>((first & 0x7f) | (second << 7)));
                    return true;
                }
            }
        }
        return slow_varint<U>(limit, out);
    }
    template <typename U, typename S>
    [[gnu::noinline]] bool slow_varint(const std::byte* limit, S& out) noexcept {
        std::size_t pos = 0;
        const auto v =
            util::read_unsigned_varint<U>(std::span(p_, static_cast<std::size_t>(limit - p_)), pos);
        if (!v) return false;
        p_ += pos;
        out = util::zigzag_decode(*v);
        return true;
    }
    bool varint(const std::byte* limit, std::int32_t& out) noexcept {
        return next_varint<std::uint32_t>(limit, out);
    }

    // Reads a length-prefixed byte string ending at or before `limit`: its first byte and
    // length, or a length of -1 for null when `nullable`. Plain scalars, not an optional
    // string_view, so that they stay in registers on their way into the RecordView.
    [[gnu::always_inline]] bool string(const std::byte* limit, std::string_view field,
                                       bool nullable, const char*& data, std::int32_t& len) {
        if (!varint(limit, len)) [[unlikely]]
            return fail_overrun(field);
        if (len < 0) [[unlikely]] {
            if (len == -1 && nullable) return true;
            return fail_length(field, len, limit);
        }
        if (static_cast<std::size_t>(len) > static_cast<std::size_t>(limit - p_)) [[unlikely]] {
            return fail_length(field, len, limit);
        }
        data = reinterpret_cast<const char*>(p_);
        p_ += len;
        return true;
    }
    static std::optional<std::string_view> view_of(const char* data, std::int32_t len) noexcept {
        if (len < 0) return std::nullopt;
        return std::string_view(data, static_cast<std::size_t>(len));
    }

    // Appends one record to `records`, built whole (a value-initialized RecordView first
    // would cost a block clear per record).
    bool read_record(std::int64_t& previous_delta, std::vector<RecordView>& records,
                     std::vector<HeaderView>& headers) {
        std::int32_t length = 0;
        if (!varint(end_, length)) [[unlikely]]
            return fail_overrun("record length");
        if (length < 0 || static_cast<std::size_t>(length) > static_cast<std::size_t>(end_ - p_))
            [[unlikely]] {
            return fail_record(
                fmt::format("record length {} overruns the {} remaining bytes", length, end_ - p_));
        }
        const std::byte* const record_end = p_ + length;
        if (p_ == record_end) [[unlikely]]
            return fail_record("attributes overrun the record");
        const auto attributes = std::to_integer<std::uint8_t>(*p_++);
        if (attributes != 0) [[unlikely]] {
            return fail_record(fmt::format("record attributes {:#x} are not 0", attributes));
        }
        std::int64_t ts_delta = 0;
        if (!next_varint<std::uint64_t>(record_end, ts_delta)) [[unlikely]] {
            return fail_record("timestamp delta varlong overruns the record");
        }
        std::int32_t offset_delta = 0;
        if (!varint(record_end, offset_delta)) [[unlikely]]
            return fail_overrun("offset delta");
        if (offset_delta <= previous_delta ||
            offset_delta > std::int64_t{header_.last_offset_delta}) [[unlikely]] {
            return fail_record(fmt::format(
                "offset delta {} is not above the previous {} and at most the last offset "
                "delta {}",
                offset_delta, previous_delta, header_.last_offset_delta));
        }
        previous_delta = offset_delta;

        const char* key = nullptr;
        std::int32_t key_len = -1;
        const char* value = nullptr;
        std::int32_t value_len = -1;
        if (!string(record_end, "key", true, key, key_len)) [[unlikely]]
            return false;
        if (!string(record_end, "value", true, value, value_len)) [[unlikely]]
            return false;
        std::int32_t header_count = 0;
        if (!varint(record_end, header_count)) [[unlikely]]
            return fail_overrun("header count");
        if (header_count < 0 || static_cast<std::size_t>(header_count) >
                                    static_cast<std::size_t>(record_end - p_) / kMinHeaderSize)
            [[unlikely]] {
            return fail_record(fmt::format("header count {} is impossible for {} remaining bytes",
                                           header_count, record_end - p_));
        }
        RecordView& r = records.emplace_back(key, key_len, value, value_len,
                                             timestamp_type_ == TimestampType::log_append_time
                                                 ? header_.max_timestamp
                                                 : wrapping_add(header_.first_timestamp, ts_delta),
                                             header_.base_offset + offset_delta, timestamp_type_);
        if (header_count > 0) [[unlikely]] {
            r.first_header = static_cast<std::uint32_t>(headers.size());
            r.header_count = static_cast<std::uint32_t>(header_count);
            for (std::int32_t h = 0; h < header_count; ++h) {
                if (!string(record_end, "header key", false, key, key_len)) return false;
                if (!string(record_end, "header value", true, value, value_len)) return false;
                headers.push_back(HeaderView{*view_of(key, key_len), view_of(value, value_len)});
            }
        }
        if (p_ != record_end) [[unlikely]] {
            return fail_record(
                fmt::format("record length {} leaves {} bytes unread", length, record_end - p_));
        }
        return true;
    }

    const BatchHeader& header_;
    const std::byte* const begin_;
    const std::byte* p_;  // the next byte to read
    const std::byte* const end_;
    const TimestampType timestamp_type_;
    std::uint32_t index_ = 0;  // of the record being read
    Status error_;             // why read_record returned false
};

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
                                        ? records_bytes / kMinRecordSize
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
    RecordReader reader(header, section);
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

// Records and record batches: the units the partition log stores, and their codec.
//
// A Record has Kafka's model: nullable key, nullable value (a null value is a tombstone),
// ordered headers, a timestamp and an offset. Records are written and read in batches. A batch
// is encoded once, by encode_batch(), optionally compressed with zstd as one unit, and then
// stored byte for byte; the log only patches its base offset (and, for LogAppendTime topics,
// its timestamps) on append. The layout is in log/format.hpp and docs/format.md.
//
// Decoding never trusts a length it has not checked against the bytes it holds, and never
// sizes a buffer from an unchecked on-disk value.
//
// Thread safety: all functions here are pure and may be called from any thread.
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace brook::log {

enum class Compression : std::uint8_t { none, zstd };
enum class TimestampType : std::uint8_t { create_time, log_append_time };

struct Header {
    std::string key;
    std::optional<std::string> value;

    friend bool operator==(const Header&, const Header&) = default;
};

struct Record {
    std::optional<std::string> key;
    std::optional<std::string> value;  // nullopt is a tombstone
    std::vector<Header> headers;
    std::int64_t timestamp = 0;  // ms since the epoch
    Offset offset;               // set by decoding; see BatchOptions::preserve_offsets

    friend bool operator==(const Record&, const Record&) = default;
};

struct BatchOptions {
    Compression compression = Compression::none;
    int zstd_level = 3;
    TimestampType timestamp_type = TimestampType::create_time;
    // Base offset written into the header. The log overwrites it on append.
    Offset base_offset{0};
    // When true, each record keeps its own `offset` (strictly increasing, >= base_offset), as
    // compaction needs. When false, records get base_offset, base_offset + 1, ...
    bool preserve_offsets = false;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    // Sets format::kTransactionalBit: the batch belongs to its producer's open transaction.
    bool transactional = false;
    // Sets format::kControlBit: a transaction marker (see log/control_batch.hpp).
    bool control = false;
};

// The fixed header of a batch, parsed.
struct BatchHeader {
    Offset base_offset;
    std::uint32_t length = 0;  // bytes after the length field
    std::uint8_t magic = 0;
    std::uint64_t checksum = 0;
    std::uint16_t attributes = 0;
    std::uint32_t last_offset_delta = 0;
    std::int64_t first_timestamp = 0;
    std::int64_t max_timestamp = 0;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::uint32_t record_count = 0;

    Offset last_offset() const noexcept { return base_offset + last_offset_delta; }
    // The whole batch's size on disk, header included.
    std::size_t total_size() const noexcept;
    Compression compression() const noexcept;
    TimestampType timestamp_type() const noexcept;
    bool is_transactional() const noexcept;
    bool is_control() const noexcept;
};

struct DecodedBatch {
    BatchHeader header;
    std::vector<Record> records;
};

// A record decoded without copying: the views point into the batch's bytes (or into the
// buffer its records were decompressed into), which must outlive the view. Its headers are
// views too, kept apart because most records have none: `header_count` of them from
// `first_header` in the HeaderView vector the decoder appended them to (headers_of()).
struct HeaderView {
    std::string_view key;
    std::optional<std::string_view> value;
};

struct RecordView {
    RecordView() = default;
    // Key and value as their first byte and length, a length of -1 being null: the decoder
    // builds records in place from these, with no optional in between.
    RecordView(const char* key_data, std::int32_t key_length, const char* value_data,
               std::int32_t value_length, std::int64_t timestamp_ms, Offset record_offset,
               TimestampType type) noexcept
        : timestamp(timestamp_ms), offset(record_offset), timestamp_type(type) {
        if (key_length >= 0) key.emplace(key_data, static_cast<std::size_t>(key_length));
        if (value_length >= 0) value.emplace(value_data, static_cast<std::size_t>(value_length));
    }

    std::optional<std::string_view> key;
    std::optional<std::string_view> value;  // nullopt is a tombstone
    std::int64_t timestamp = 0;
    Offset offset;
    std::uint32_t first_header = 0;  // in the decoder's HeaderView vector
    std::uint32_t header_count = 0;
    TimestampType timestamp_type = TimestampType::create_time;  // the batch's

    // This record's headers in `headers`, the vector the decoder appended them to.
    std::span<const HeaderView> headers_of(const std::vector<HeaderView>& headers) const noexcept {
        return std::span(headers).subspan(first_header, header_count);
    }
};

// Encodes records into one batch. The checksum is computed over the final bytes.
// @return invalid_argument if `records` is empty, offsets are not increasing with
//         preserve_offsets, or the batch would exceed format::kMaxBatchBytes;
//         io_error if zstd fails.
Result<std::vector<std::byte>> encode_batch(std::span<const Record> records,
                                            const BatchOptions& options);

// Parses and structurally checks the fixed header at the start of `bytes`.
// REQUIRES: bytes.size() >= format::kBatchHeaderSize.
// @return corruption if the magic is unknown, the length is below the header size or above
//         format::kMaxBatchBytes, unknown attribute bits are set, or the record count is
//         impossible for the length.
Result<BatchHeader> parse_batch_header(std::span<const std::byte> bytes);

// True if the checksum stored in `batch` (one whole batch) matches its contents.
bool checksum_matches(std::span<const std::byte> batch) noexcept;

// Verifies the checksum, decompresses and decodes every record of one whole batch.
// For LogAppendTime batches every record's timestamp is the batch's max timestamp.
// @return corruption (checksum mismatch, a length that overruns the batch, a record count
//         that disagrees with the header, a bad zstd frame), not_supported for an unknown codec.
Result<DecodedBatch> decode_batch(std::span<const std::byte> batch);

// As decode_batch, but appends the records to `records` as views instead of copies: into
// `batch` for an uncompressed batch, into `decompressed` (replaced) for a zstd one. Both must
// outlive the views and stay unchanged. Their headers are appended to `headers`. On error
// `records` and `headers` may hold part of the batch.
// @return the batch's header, or decode_batch's errors.
Result<BatchHeader> decode_batch_views(std::span<const std::byte> batch,
                                       std::vector<std::byte>& decompressed,
                                       std::vector<RecordView>& records,
                                       std::vector<HeaderView>& headers);

// decode_batch_views without the fast path for records of the common shape
// (log/short_record.hpp), for tests that compare the two.
Result<BatchHeader> decode_batch_views_general(std::span<const std::byte> batch,
                                               std::vector<std::byte>& decompressed,
                                               std::vector<RecordView>& records,
                                               std::vector<HeaderView>& headers);

// Overwrites the base offset of an encoded batch (outside the checksum).
void set_base_offset(std::span<std::byte> batch, Offset base) noexcept;

// Marks an encoded batch as LogAppendTime with the given time and recomputes its checksum.
void set_log_append_time(std::span<std::byte> batch, std::int64_t now_ms) noexcept;

}  // namespace brook::log

// The decoder's fast path for the common shape of record: every varint one or two bytes long,
// no headers.
//
// read_short_record() decodes such a record with its position, lengths and deltas in
// registers and a single bounds check per field, where the general decoder (RecordReader in
// record_reader.hpp) keeps its position in memory for its error messages; read_short_records()
// decodes a run of them, the decoder's loop over a batch. Each accepts only what
// the general decoder accepts, with the same result; for anything else (a longer varint,
// headers, a length that overruns, an offset delta out of order, nonzero attributes) it
// declines without moving, and the general decoder reads the record again and reports what is
// wrong. tests/log/decode_views_test.cpp checks both against each other and a model.
//
// Thread safety: a pure function.
#pragma once

#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "log/format.hpp"
#include "log/record_batch.hpp"

namespace brook::log {

namespace detail {

// Reads a varint of one or two bytes at `p` without undoing its zig-zag encoding.
// REQUIRES: two bytes are readable at `p`. @return false for a longer one.
[[gnu::always_inline]] inline bool short_raw_varint(const std::byte*& p,
                                                    std::uint32_t& out) noexcept {
    auto v = std::to_integer<std::uint32_t>(p[0]);
    if (v >= 0x80) {
        const auto second = std::to_integer<std::uint32_t>(p[1]);
        if (second >= 0x80) return false;
        v = (v & 0x7f) | (second << 7);
        ++p;
    }
    ++p;
    out = v;
    return true;
}

// Reads a varint of one or two bytes at `p`. REQUIRES: two bytes are readable at `p`.
// @return false for a longer one.
[[gnu::always_inline]] inline bool short_varint(const std::byte*& p, std::int32_t& out) noexcept {
    std::uint32_t v = 0;
    if (!short_raw_varint(p, v)) return false;
    out = static_cast<std::int32_t>((v >> 1) ^ (0u - (v & 1u)));
    return true;
}

// Reads a nullable byte string's length (-1 for null) and skips its bytes, leaving at least
// one byte before `limit` (the header count that follows).
[[gnu::always_inline]] inline bool short_string(const std::byte*& p, const std::byte* limit,
                                                const char*& data, std::int32_t& len) noexcept {
    if (limit - p < 2 || !short_varint(p, len) || len < -1) return false;
    if (len >= 0) {
        if (len >= limit - p) return false;
        data = reinterpret_cast<const char*>(p);
        p += len;
    }
    return true;
}

}  // namespace detail

// Decodes the record at `p` (before `end`, the end of the batch's records) into `records` if
// it has the common shape, moving `p` past it and `previous_delta` to its offset delta.
// `header` is its batch's, `type` the batch's timestamp type.
// @return false, leaving everything unchanged, for any other record, valid or not.
[[gnu::always_inline]] inline bool read_short_record(const std::byte*& p, const std::byte* end,
                                                     const BatchHeader& header, TimestampType type,
                                                     std::int64_t& previous_delta,
                                                     std::vector<RecordView>& records) {
    const std::byte* q = p;
    std::int32_t length = 0;
    if (end - q < 2 || !detail::short_varint(q, length) || length < 0 || length > end - q) {
        return false;
    }
    const std::byte* const record_end = q + length;
    // Attributes, timestamp delta and offset delta, each followed by at least a byte.
    if (record_end - q < 3 || *q != std::byte{0}) return false;
    ++q;
    std::int32_t ts_delta = 0;
    std::int32_t offset_delta = 0;
    if (!detail::short_varint(q, ts_delta) || record_end - q < 2 ||
        !detail::short_varint(q, offset_delta) || offset_delta <= previous_delta ||
        offset_delta > std::int64_t{header.last_offset_delta}) {
        return false;
    }
    const char* key = nullptr;
    const char* value = nullptr;
    std::int32_t key_len = -1;
    std::int32_t value_len = -1;
    if (!detail::short_string(q, record_end, key, key_len) ||
        !detail::short_string(q, record_end, value, value_len)) {
        return false;
    }
    // No headers: a header count of zero, ending the record.
    if (record_end - q != 1 || *q != std::byte{0}) return false;
    records.emplace_back(
        key, key_len, value, value_len,
        type == TimestampType::log_append_time
            ? header.max_timestamp
            : static_cast<std::int64_t>(static_cast<std::uint64_t>(header.first_timestamp) +
                                        static_cast<std::uint64_t>(std::int64_t{ts_delta})),
        header.base_offset + offset_delta, type);
    previous_delta = offset_delta;
    p = record_end;
    return true;
}

// Decodes records of the common shape from `p` into `records`, with read_short_record()'s
// rules, until `count` are decoded or the next one has another shape; `p` and
// `previous_delta` end after the last one decoded. The batch decoder's loop: its position,
// bounds and the batch's fields stay in registers; a record of at least kMinLength bytes holds
// the two-byte varints of its first four fields, so those are read without a bound each; and
// the fields that cannot be negative (lengths, the offset delta) are checked for an odd
// zig-zag value (a negative number) instead of being decoded first. A shorter record is left
// to read_short_record().
// `records` is a std::vector<RecordView> or anything with size(), capacity() and an
// emplace_back() taking RecordView's constructor arguments.
// REQUIRES: `records` has room for `count` more without growing.
// @return how many records were decoded.
template <typename Records>
inline std::uint32_t read_short_records(const std::byte*& p, const std::byte* end,
                                        const BatchHeader& header, TimestampType type,
                                        std::int64_t& previous_delta, std::uint32_t count,
                                        Records& records) {
    // Attributes, then a timestamp delta, an offset delta and a key length of up to two bytes.
    constexpr std::ptrdiff_t kMinLength = 7;
    constexpr std::uintptr_t kPrefetchAhead = 2048;
    const std::byte* q = p;
    std::int64_t previous = previous_delta;
    const std::int64_t last_delta = header.last_offset_delta;
    const Offset base = header.base_offset;
    const auto first_timestamp = static_cast<std::uint64_t>(header.first_timestamp);
    const bool append_time = type == TimestampType::log_append_time;
    const std::int64_t max_timestamp = header.max_timestamp;
    std::uint32_t n = 0;
    for (; n < count; ++n) {
        // The bytes a few records on, which are often not cached yet: a segment's mapped pages
        // are scattered in memory, and the hardware prefetcher stops at each page's end.
        __builtin_prefetch(
            reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(q) + kPrefetchAhead));
        const std::byte* r = q;
        std::uint32_t raw = 0;
        if (end - r < 2 || !detail::short_raw_varint(r, raw) || (raw & 1) != 0) break;
        const std::ptrdiff_t length = raw >> 1;
        if (length < kMinLength || length > end - r || *r != std::byte{0}) break;
        const std::byte* const record_end = r + length;
        ++r;
        std::uint32_t ts_raw = 0;
        std::uint32_t key_raw = 0;
        if (!detail::short_raw_varint(r, ts_raw) || !detail::short_raw_varint(r, raw) ||
            (raw & 1) != 0 || !detail::short_raw_varint(r, key_raw)) {
            break;
        }
        const std::int64_t offset_delta = raw >> 1;
        if (offset_delta <= previous || offset_delta > last_delta) break;
        // The key, then at least two bytes: a value length and a header count.
        const char* key = nullptr;
        std::int32_t key_len = -1;
        if ((key_raw & 1) == 0) {
            key_len = static_cast<std::int32_t>(key_raw >> 1);
            if (key_len > record_end - r - 2) break;
            key = reinterpret_cast<const char*>(r);
            r += key_len;
        } else if (key_raw != 1 || record_end - r < 2) {
            break;
        }
        // The value, then exactly one byte: a header count of zero.
        const char* value = nullptr;
        std::int32_t value_len = -1;
        if (!detail::short_raw_varint(r, raw)) break;
        if ((raw & 1) == 0) {
            value_len = static_cast<std::int32_t>(raw >> 1);
            if (value_len != record_end - r - 1) break;
            value = reinterpret_cast<const char*>(r);
            r += value_len;
        } else if (raw != 1 || record_end - r != 1) {
            break;
        }
        if (*r != std::byte{0}) break;
        if (records.size() == records.capacity()) __builtin_unreachable();
        const auto ts_delta = static_cast<std::int32_t>((ts_raw >> 1) ^ (0u - (ts_raw & 1u)));
        records.emplace_back(
            key, key_len, value, value_len,
            append_time ? max_timestamp
                        : static_cast<std::int64_t>(
                              first_timestamp + static_cast<std::uint64_t>(std::int64_t{ts_delta})),
            base + offset_delta, type);
        previous = offset_delta;
        q = record_end;
    }
    p = q;
    previous_delta = previous;
    return n;
}

// Decodes `batch` (whose header is `header`, parsed from it) into `records` when that is all
// the batch needs: it is not compressed, every record has the common shape, read with
// read_short_records() and checked as the general decoder checks a batch's end (the last
// offset delta, no trailing bytes), and its checksum matches. The checksum is computed only
// once the shape matched, so that a batch left to the general decoder, which verifies it
// itself, is not hashed twice; read_short_records() is bounded by the batch either way.
// `records` is as for read_short_records().
// REQUIRES: `records` has room for header.record_count more without growing.
// @return false, with `records` cut back to its size before, for any other batch, valid or
//         not: the general decoder (decode_batch_views) then decodes it or says what is wrong.
template <typename Records>
bool decode_short_batch(std::span<const std::byte> batch, const BatchHeader& header,
                        Records& records) {
    if (batch.size() != header.total_size() || batch.size() < format::kRecordsPos ||
        header.compression() != Compression::none) {
        return false;
    }
    const std::byte* p = batch.data() + format::kRecordsPos;
    const std::byte* const end = batch.data() + batch.size();
    const std::size_t before = records.size();
    std::int64_t previous_delta = -1;
    const std::uint32_t decoded = read_short_records(p, end, header, header.timestamp_type(),
                                                     previous_delta, header.record_count, records);
    if (decoded != header.record_count || previous_delta != header.last_offset_delta || p != end ||
        !checksum_matches(batch)) {
        records.resize(before);
        return false;
    }
    return true;
}

}  // namespace brook::log

// The decoder's fast path for the common shape of record: every varint one or two bytes long,
// no headers.
//
// read_short_record() decodes such a record with its position, lengths and deltas in
// registers and a single bounds check per field, where the general decoder (RecordReader in
// record_batch.cpp) keeps its position in memory for its error messages. It accepts only what
// the general decoder accepts, with the same result; for anything else (a longer varint,
// headers, a length that overruns, an offset delta out of order, nonzero attributes) it
// declines without moving, and the general decoder reads the record again and reports what is
// wrong. tests/log/short_record_test.cpp checks both against each other and a model.
//
// Thread safety: a pure function.
#pragma once

#include <brook/types.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "log/record_batch.hpp"

namespace brook::log {

namespace detail {

// Reads a varint of one or two bytes at `p`. REQUIRES: two bytes are readable at `p`.
// @return false for a longer one.
[[gnu::always_inline]] inline bool short_varint(const std::byte*& p, std::int32_t& out) noexcept {
    auto v = std::to_integer<std::uint32_t>(p[0]);
    if (v >= 0x80) {
        const auto second = std::to_integer<std::uint32_t>(p[1]);
        if (second >= 0x80) return false;
        v = (v & 0x7f) | (second << 7);
        ++p;
    }
    ++p;
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
                                                     const BatchHeader& header,
                                                     TimestampType type,
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
    records.emplace_back(key, key_len, value, value_len,
                         type == TimestampType::log_append_time
                             ? header.max_timestamp
                             : static_cast<std::int64_t>(
                                   static_cast<std::uint64_t>(header.first_timestamp) +
                                   static_cast<std::uint64_t>(std::int64_t{ts_delta})),
                         header.base_offset + offset_delta, type);
    previous_delta = offset_delta;
    p = record_end;
    return true;
}

}  // namespace brook::log

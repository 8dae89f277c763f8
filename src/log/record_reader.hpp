// RecordReader: the general decoder of a batch's records section, for decode_batch_views()
// and decode_batch() in record_batch.cpp, the only file that includes it.
//
// It reads records as views into the bytes it is given, checking every length and varint
// against the bytes left in the record and in the section. A record of the common shape is
// read by read_short_record() (short_record.hpp) first; one it declines (a longer varint,
// headers, or damage) this reader reads again, and reports what is wrong if anything is.
// Errors are corruption statuses naming the batch's base offset, the record's index and its
// byte position.
//
// Ownership: a reader borrows the header and the bytes for its lifetime; the views it appends
// point into those bytes. Thread safety: one thread per reader.
#pragma once

#include <fmt/format.h>

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "log/record_batch.hpp"
#include "log/short_record.hpp"
#include "util/varint.hpp"

namespace brook::log::detail {

// The smallest encoded record: one byte each for the length, attributes, timestamp delta,
// offset delta, key length, value length and header count.
constexpr std::size_t kMinRecordSize = 7;
// The smallest encoded header: one byte each for the key length and the value length.
constexpr std::size_t kMinHeaderSize = 2;

// Timestamp deltas wrap, so that any pair of int64 timestamps round-trips.
inline std::int64_t wrapping_add(std::int64_t a, std::int64_t b) noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
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

}  // namespace brook::log::detail

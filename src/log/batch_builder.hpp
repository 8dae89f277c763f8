// BatchBuilder: encodes records one at a time into a growing batch, then finishes it with its
// header and checksum. encode_batch() builds a whole batch with it; the Producer encodes each
// record into its partition's open batch as it is produced, so a record is copied once, from
// the caller's strings into the batch, and never held as a Record.
//
// Records use the layout of log/format.hpp. Offset deltas are the caller's (strictly
// increasing; the producer's are 0, 1, 2, ...); timestamp deltas are taken from the first
// record's timestamp, wrapping, so any int64 timestamps round-trip.
//
// Thread safety: a BatchBuilder is a plain value; one thread at a time.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <brook/status.hpp>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "log/record_batch.hpp"
#include "util/varint.hpp"

namespace brook::log {

class BatchBuilder {
  public:
    BatchBuilder();
    // Encodes into `buffer`, whose bytes (its size(), not its capacity) are overwritten: a
    // buffer from an earlier finish(), recycled so a producer does not allocate and zero a
    // new one for every batch.
    explicit BatchBuilder(std::vector<std::byte> buffer);

    // A nullable key or value as the encoder takes it: the caller's bytes, not a copy.
    using Bytes = std::optional<std::string_view>;
    static Bytes view(const std::optional<std::string>& s) noexcept {
        return s ? Bytes(*s) : std::nullopt;
    }
    static Bytes view(const Bytes& s) noexcept { return s; }

    // The encoded size of a record's key, value and headers (the fields after its offset
    // delta). Header is log::Header or brook::Header: a string key and an optional value.
    template <typename HeaderT>
    static std::size_t fields_size(const Bytes& key, const Bytes& value,
                                   std::span<const HeaderT> headers) noexcept {
        std::size_t n = nullable_size(key) + nullable_size(value) + length_size(headers.size());
        for (const HeaderT& h : headers) {
            n += length_size(h.key.size()) + h.key.size() + nullable_size(view(h.value));
        }
        return n;
    }

    // At most this many bytes of a record beyond its fields: its length, attributes and deltas
    // as varints.
    static constexpr std::size_t kMaxRecordOverhead = 5 + 1 + 10 + 5;

    // The encoded size of a record whose fields take `fields` bytes, with the given deltas.
    static std::size_t record_size(std::size_t fields, std::int64_t timestamp_delta,
                                   std::int32_t offset_delta) noexcept;

    // Makes room for `bytes` of records without growing again.
    void reserve(std::size_t bytes);

    // Appends a record. `fields` is fields_size() of the same key, value and headers.
    // REQUIRES: offset_delta is above the previous record's; every length fits an int32.
    // Inline: the Producer runs it once per record produced.
    template <typename HeaderT>
    [[gnu::always_inline]] void add(const Bytes& key, const Bytes& value,
                                    std::span<const HeaderT> headers, std::int64_t timestamp,
                                    std::int32_t offset_delta, std::size_t fields) {
        std::byte* p = begin_record(timestamp, offset_delta, fields);
        p = put_nullable(p, key);
        p = put_nullable(p, value);
        p = put_length(p, headers.size());
        for (const HeaderT& h : headers) {
            p = put_length(p, h.key.size());
            p = put_bytes(p, h.key);
            p = put_nullable(p, view(h.value));
        }
        end_record(p);
    }

    // Where the batch stands: rollback() takes it back there, dropping the records added since.
    struct Mark {
        std::size_t size = 0;
        std::uint32_t count = 0;
        std::int32_t last_offset_delta = -1;
        std::int64_t max_timestamp = 0;
    };
    Mark mark() const noexcept { return {size_, count_, last_offset_delta_, max_timestamp_}; }
    // REQUIRES: `m` came from mark() on this builder, and finish() was not called since.
    void rollback(const Mark& m) noexcept {
        size_ = m.size;
        count_ = m.count;
        last_offset_delta_ = m.last_offset_delta;
        max_timestamp_ = m.max_timestamp;
    }

    std::uint32_t record_count() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    // The batch's size so far, uncompressed, header included.
    std::size_t size_bytes() const noexcept { return size_; }
    // The bytes its buffer holds: size_bytes() and the room it grew beyond that.
    std::size_t buffer_bytes() const noexcept { return std::max(size_, bytes_.capacity()); }
    std::int64_t first_timestamp() const noexcept { return first_timestamp_; }

    // Writes the header (base offset, producer fields, attributes from `options`) and the
    // checksum, compressing the records first when options.compression asks. The builder is
    // empty afterwards. options.preserve_offsets is ignored: the offsets are the records'.
    // REQUIRES: !empty().
    // @return invalid_argument if the batch exceeds format::kMaxBatchBytes; io_error if zstd
    //         fails.
    Result<std::vector<std::byte>> finish(const BatchOptions& options);

  private:
    static std::size_t varint_size(std::uint64_t zigzagged) noexcept {
        // By the number of leading zero bits: 1 + (index of the highest set bit) / 7. Setting
        // the lowest bit sizes 0 as 1, which takes one byte too, and leaves the count defined
        // for the processor's bit scan without a test for 0.
        static constexpr auto kSizes = [] {
            std::array<std::uint8_t, 64> sizes{};
            for (int zeros = 0; zeros < 64; ++zeros) {
                sizes[static_cast<std::size_t>(zeros)] =
                    static_cast<std::uint8_t>(1 + (63 - zeros) / 7);
            }
            return sizes;
        }();
        return kSizes[static_cast<std::size_t>(std::countl_zero(zigzagged | 1))];
    }
    // util::zigzag_encode of a length, which is never negative: twice it.
    static std::uint64_t length_zigzag(std::size_t length) noexcept {
        return static_cast<std::uint64_t>(static_cast<std::uint32_t>(length)) << 1;
    }
    static std::size_t length_size(std::size_t length) noexcept {
        return varint_size(length_zigzag(length));
    }
    static std::size_t nullable_size(const Bytes& s) noexcept {
        return s ? length_size(s->size()) + s->size() : 1;
    }
    [[gnu::always_inline]] static std::byte* put_varint(std::byte* p,
                                                        std::uint64_t zigzagged) noexcept {
        // One and two bytes without a loop: lengths and deltas of small records.
        if (zigzagged < 0x80) {
            *p = static_cast<std::byte>(zigzagged);
            return p + 1;
        }
        if (zigzagged < 0x4000) {
            p[0] = static_cast<std::byte>(zigzagged | 0x80);
            p[1] = static_cast<std::byte>(zigzagged >> 7);
            return p + 2;
        }
        while (zigzagged >= 0x80) {
            *p++ = static_cast<std::byte>((zigzagged & 0x7f) | 0x80);
            zigzagged >>= 7;
        }
        *p++ = static_cast<std::byte>(zigzagged);
        return p;
    }
    [[gnu::always_inline]] static std::byte* put_length(std::byte* p, std::size_t length) noexcept {
        return put_varint(p, length_zigzag(length));
    }
    [[gnu::always_inline]] static std::byte* put_bytes(std::byte* p, std::string_view s) noexcept {
        const std::size_t n = s.size();
        if (n >= 8 && n <= 16) {
            // Two overlapping 8-byte moves instead of a call to memcpy (keys are often 8 bytes).
            std::uint64_t head = 0;
            std::uint64_t tail = 0;
            std::memcpy(&head, s.data(), 8);
            std::memcpy(&tail, s.data() + n - 8, 8);
            std::memcpy(p, &head, 8);
            std::memcpy(p + n - 8, &tail, 8);
        } else if (n != 0) {
            std::memcpy(p, s.data(), n);
        }
        return p + n;
    }
    [[gnu::always_inline]] static std::byte* put_nullable(std::byte* p, const Bytes& s) noexcept {
        // A null is length -1, zig-zagged to 1.
        if (!s) return put_varint(p, 1);
        return put_bytes(put_length(p, s->size()), *s);
    }

    // Reserves the record's bytes, writes its length, attributes and deltas.
    // @return where its key goes. Inline: it runs once per record produced.
    [[gnu::always_inline]] std::byte* begin_record(std::int64_t timestamp,
                                                   std::int32_t offset_delta, std::size_t fields) {
        assert(offset_delta > last_offset_delta_);
        if (count_ == 0) {
            first_timestamp_ = timestamp;
            max_timestamp_ = timestamp;
        } else {
            max_timestamp_ = std::max(max_timestamp_, timestamp);
        }
        // Timestamp deltas wrap, so that any pair of int64 timestamps round-trips.
        const std::uint64_t timestamp_delta = util::zigzag_encode(static_cast<std::int64_t>(
            static_cast<std::uint64_t>(timestamp) - static_cast<std::uint64_t>(first_timestamp_)));
        const std::uint64_t offset_zigzag = util::zigzag_encode(offset_delta);
        const std::size_t body =
            1 + varint_size(timestamp_delta) + varint_size(offset_zigzag) + fields;
        const std::uint64_t body_zigzag = length_zigzag(body);
        const std::size_t total = varint_size(body_zigzag) + body;
        if (size_ + total > bytes_.size()) grow(size_ + total);
        std::byte* p = bytes_.data() + size_;
        size_ += total;
        ++count_;
        last_offset_delta_ = offset_delta;
        p = put_varint(p, body_zigzag);
        *p++ = std::byte{0};  // attributes
        p = put_varint(p, timestamp_delta);
        return put_varint(p, offset_zigzag);
    }
    void end_record([[maybe_unused]] std::byte* end) noexcept {
        // begin_record() moved size_ to where the record must end.
        assert(end == bytes_.data() + size_);
    }
    // Grows the buffer to at least `size` bytes.
    void grow(std::size_t size);

    std::vector<std::byte> bytes_;  // [0, size_) in use: header room, then the records
    std::size_t size_;
    std::uint32_t count_ = 0;
    std::int32_t last_offset_delta_ = -1;
    std::int64_t first_timestamp_ = 0;
    std::int64_t max_timestamp_ = 0;
};

}  // namespace brook::log

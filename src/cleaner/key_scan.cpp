#include "cleaner/key_scan.hpp"

#include <fmt/format.h>

#include "log/format.hpp"
#include "util/varint.hpp"

namespace brook::cleaner {
namespace {

// A zig-zag varint from bytes[pos, bytes.size()); most lengths and deltas take one or two
// bytes, which are read here directly.
std::optional<std::int32_t> varint(std::span<const std::byte> bytes, std::size_t& pos) noexcept {
    if (pos + 1 < bytes.size()) {
        const auto first = std::to_integer<std::uint32_t>(bytes[pos]);
        if (first < 0x80) {
            ++pos;
            return util::zigzag_decode(first);
        }
        const auto second = std::to_integer<std::uint32_t>(bytes[pos + 1]);
        if (second < 0x80) {
            pos += 2;
            return util::zigzag_decode((first & 0x7f) | (second << 7));
        }
    }
    return util::read_varint(bytes, pos);
}

// Steps over a zig-zag varlong. @return false if it overruns the bytes.
bool skip_varlong(std::span<const std::byte> bytes, std::size_t& pos) noexcept {
    if (pos < bytes.size() && std::to_integer<std::uint32_t>(bytes[pos]) < 0x80) {
        ++pos;
        return true;
    }
    return util::read_varlong(bytes, pos).has_value();
}

Status bad_batch(const log::BatchHeader& header, std::uint32_t record, std::string_view what) {
    return Status::corruption(fmt::format("batch at base offset {}: record {}: {}",
                                          header.base_offset.value(), record, what));
}

}  // namespace

Status scan_keys(std::span<const std::byte> batch, const log::BatchHeader& header,
                 std::vector<log::RecordView>& scratch, std::vector<std::byte>& decompressed,
                 std::vector<KeyedOffset>& out) {
    out.clear();
    if (header.compression() != log::Compression::none) {
        scratch.clear();
        std::vector<log::HeaderView> headers;  // unused: only keys are scanned
        BROOK_RETURN_IF_ERROR(
            log::decode_batch_views(batch, decompressed, scratch, headers).status());
        for (const log::RecordView& v : scratch) out.push_back({v.offset, v.key});
        return Status::ok();
    }
    if (batch.size() != header.total_size() || !log::checksum_matches(batch)) {
        return Status::corruption(
            fmt::format("batch checksum mismatch at base offset {}", header.base_offset.value()));
    }
    const auto records = batch.subspan(log::format::kRecordsPos);
    // Every record takes at least one byte, so this bounds the allocation by the batch.
    if (header.record_count > records.size()) {
        return bad_batch(header, 0,
                         fmt::format("record count {} is impossible for {} bytes",
                                     header.record_count, records.size()));
    }
    out.reserve(header.record_count);
    std::size_t pos = 0;
    std::int64_t previous = -1;
    for (std::uint32_t i = 0; i < header.record_count; ++i) {
        const auto length = varint(records, pos);
        if (!length || *length < 0 || static_cast<std::size_t>(*length) > records.size() - pos) {
            return bad_batch(header, i, "the record length overruns the batch");
        }
        const std::size_t end = pos + static_cast<std::size_t>(*length);
        const auto record = records.subspan(0, end);
        if (pos == end || records[pos] != std::byte{0}) {
            return bad_batch(header, i, "the record attributes are missing or not 0");
        }
        ++pos;
        if (!skip_varlong(record, pos)) {
            return bad_batch(header, i, "the timestamp delta overruns the record");
        }
        const auto delta = varint(record, pos);
        if (!delta || *delta <= previous || *delta > std::int64_t{header.last_offset_delta}) {
            return bad_batch(header, i,
                             "the offset delta is missing, not increasing or past the "
                             "batch's last offset delta");
        }
        previous = *delta;
        const auto key_length = varint(record, pos);
        if (!key_length || *key_length < -1 ||
            (*key_length >= 0 && static_cast<std::size_t>(*key_length) > end - pos)) {
            return bad_batch(header, i, "the key length overruns the record");
        }
        std::optional<std::string_view> key;
        if (*key_length >= 0) {
            key = std::string_view(reinterpret_cast<const char*>(records.data() + pos),
                                   static_cast<std::size_t>(*key_length));
        }
        out.push_back({header.base_offset + *delta, key});
        pos = end;
    }
    if (previous != std::int64_t{header.last_offset_delta} || pos != records.size()) {
        return bad_batch(header, header.record_count,
                         "the records end before the batch or the last offset delta");
    }
    return Status::ok();
}

}  // namespace brook::cleaner

#include "log/control_batch.hpp"

#include <fmt/format.h>

#include <string>

#include "log/format.hpp"

namespace brook::log {
namespace {

// Kafka writes the marker's fields big-endian.
void put_be16(std::string& out, std::int16_t v) {
    const auto u = static_cast<std::uint16_t>(v);
    out.push_back(static_cast<char>(u >> 8));
    out.push_back(static_cast<char>(u & 0xff));
}

void put_be32(std::string& out, std::int32_t v) {
    const auto u = static_cast<std::uint32_t>(v);
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((u >> shift) & 0xff));
}

std::int16_t get_be16(const std::string& in, std::size_t pos) {
    return static_cast<std::int16_t>((static_cast<std::uint8_t>(in[pos]) << 8) |
                                     static_cast<std::uint8_t>(in[pos + 1]));
}

}  // namespace

Result<std::vector<std::byte>> encode_control_batch(std::int64_t producer_id, std::int16_t epoch,
                                                    ControlType type, std::int64_t timestamp_ms,
                                                    std::int32_t coordinator_epoch) {
    if (producer_id < 0 || epoch < 0) {
        return Status::invalid_argument(
            fmt::format("a transaction marker needs a producer id and epoch >= 0, got {} and {}",
                        producer_id, epoch));
    }
    Record marker;
    marker.key.emplace();
    put_be16(*marker.key, format::kControlRecordVersion);
    put_be16(*marker.key, static_cast<std::int16_t>(type));
    marker.value.emplace();
    put_be16(*marker.value, format::kControlRecordVersion);
    put_be32(*marker.value, coordinator_epoch);
    marker.timestamp = timestamp_ms;
    BatchOptions options;
    options.producer_id = producer_id;
    options.producer_epoch = epoch;
    options.transactional = true;
    options.control = true;
    return encode_batch(std::span(&marker, 1), options);
}

Result<ControlMarker> parse_control_batch(const DecodedBatch& batch) {
    const auto bad = [&](std::string_view why) {
        return Status::corruption(fmt::format("the control batch at offset {} {}",
                                              batch.header.base_offset.value(), why));
    };
    if (!batch.header.is_control() || !batch.header.is_transactional()) {
        return bad("lacks the control or transactional attribute");
    }
    if (batch.records.size() != 1) return bad("does not hold exactly one record");
    const Record& r = batch.records.front();
    if (!r.key || r.key->size() != format::kControlKeySize) return bad("has a malformed key");
    if (get_be16(*r.key, 0) != format::kControlRecordVersion) return bad("has an unknown version");
    ControlMarker marker;
    switch (get_be16(*r.key, 2)) {
        case format::kControlAbort: marker.type = ControlType::abort; break;
        case format::kControlCommit: marker.type = ControlType::commit; break;
        default: return bad("has an unknown marker type");
    }
    if (r.value && r.value->size() >= format::kControlValueSize) {
        marker.coordinator_epoch = static_cast<std::int32_t>(
            (static_cast<std::uint32_t>(static_cast<std::uint8_t>((*r.value)[2])) << 24) |
            (static_cast<std::uint32_t>(static_cast<std::uint8_t>((*r.value)[3])) << 16) |
            (static_cast<std::uint32_t>(static_cast<std::uint8_t>((*r.value)[4])) << 8) |
            static_cast<std::uint32_t>(static_cast<std::uint8_t>((*r.value)[5])));
    }
    return marker;
}

}  // namespace brook::log

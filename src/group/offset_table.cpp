#include "group/offset_table.hpp"

#include <fmt/format.h>

#include <array>

#include "group/offset_format.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace brook::group {
namespace {

std::string key_prefix(std::string_view group_id) {
    std::string key(group_id);
    key.push_back(format::kKeySeparator);
    return key;
}

std::string topic_prefix(std::string_view group_id, std::string_view topic) {
    std::string key = key_prefix(group_id);
    key.append(topic);
    key.push_back(format::kKeySeparator);
    return key;
}

std::string encode_key(std::string_view group_id, const TopicPartition& tp) {
    std::string key = topic_prefix(group_id, tp.topic);
    const auto p = static_cast<std::uint32_t>(tp.partition.value());
    for (int shift = 24; shift >= 0; shift -= 8) {
        key.push_back(static_cast<char>((p >> shift) & 0xff));
    }
    return key;
}

// The topic and partition of a key found under key_prefix(group), or nullopt if malformed.
std::optional<TopicPartition> decode_key_suffix(std::string_view rest) {
    const std::size_t end = rest.find(format::kKeySeparator);
    if (end == 0 || end == std::string_view::npos ||
        rest.size() != end + 1 + format::kPartitionKeySize) {
        return std::nullopt;
    }
    std::uint32_t p = 0;
    for (std::size_t i = end + 1; i < rest.size(); ++i) {
        p = (p << 8) | static_cast<std::uint8_t>(rest[i]);
    }
    if (p > 0x7fffffffU) return std::nullopt;
    return TopicPartition{std::string(rest.substr(0, end)),
                          PartitionId(static_cast<std::int32_t>(p))};
}

std::string encode_value(Offset offset, std::int64_t now_ms) {
    std::array<std::byte, format::kOffsetRecordSize> buf{};
    buf[format::kVersionPos] = std::byte{format::kOffsetRecordV1};
    util::store_le<std::int64_t>(buf.data() + format::kOffsetPos, offset.value());
    util::store_le<std::int64_t>(buf.data() + format::kCommitTimePos, now_ms);
    const auto sum = util::xxh3_64(std::span(buf.data(), format::kChecksumPos));
    util::store_le<std::uint64_t>(buf.data() + format::kChecksumPos, sum);
    return std::string(reinterpret_cast<const char*>(buf.data()), buf.size());
}

Result<CommittedOffset> decode_value(std::string_view group_id, const TopicPartition& tp,
                                     std::string_view value) {
    auto corrupt = [&](std::string_view what) {
        return Status::corruption(fmt::format(
            "the committed offset of group '{}' for {}/{} is damaged ({}); reset it with "
            "GroupAdmin::reset_offsets",
            group_id, tp.topic, tp.partition.value(), what));
    };
    if (value.size() != format::kOffsetRecordSize) return corrupt("wrong size");
    const auto* bytes = reinterpret_cast<const std::byte*>(value.data());
    const auto sum = util::xxh3_64(std::span(bytes, format::kChecksumPos));
    if (sum != util::load_le<std::uint64_t>(bytes + format::kChecksumPos)) {
        return corrupt("checksum mismatch");
    }
    if (bytes[format::kVersionPos] != std::byte{format::kOffsetRecordV1}) {
        return Status::not_supported(fmt::format(
            "the committed offset of group '{}' for {}/{} has record version {}, written by a "
            "newer brook",
            group_id, tp.topic, tp.partition.value(),
            static_cast<int>(bytes[format::kVersionPos])));
    }
    const Offset offset(util::load_le<std::int64_t>(bytes + format::kOffsetPos));
    if (offset < Offset(0)) return corrupt("negative offset");
    return CommittedOffset{offset, util::load_le<std::int64_t>(bytes + format::kCommitTimePos)};
}

}  // namespace

Status validate_group_id(std::string_view group_id) {
    if (group_id.empty() || group_id.size() > format::kMaxGroupIdBytes ||
        group_id.find('\0') != std::string_view::npos) {
        return Status::invalid_argument(
            fmt::format("group.id '{}' is invalid; a group id is 1 to {} bytes with no NUL byte",
                        group_id, format::kMaxGroupIdBytes));
    }
    return Status::ok();
}

Status OffsetTable::commit(std::string_view group_id, std::span<const TopicPartitionOffset> offsets,
                           std::int64_t now_ms) {
    BROOK_RETURN_IF_ERROR(validate_group_id(group_id));
    std::vector<meta::MetaStore::Write> writes;
    writes.reserve(offsets.size());
    for (const auto& o : offsets) {
        if (o.offset < Offset(0) || o.topic.empty() || o.partition < PartitionId(0)) {
            return Status::invalid_argument(fmt::format(
                "cannot commit offset {} for {}/{}: a committed offset is the next offset to "
                "read, 0 or more, of an existing partition",
                o.offset.value(), o.topic, o.partition.value()));
        }
        writes.push_back({std::string(format::kOffsetsSpace),
                          encode_key(group_id, {o.topic, o.partition}),
                          encode_value(o.offset, now_ms)});
    }
    if (writes.empty()) return Status::ok();
    return meta_.write(writes);
}

Result<std::optional<CommittedOffset>> OffsetTable::fetch(std::string_view group_id,
                                                          const TopicPartition& tp) {
    BROOK_RETURN_IF_ERROR(validate_group_id(group_id));
    BROOK_ASSIGN_OR_RETURN(auto value, meta_.get(format::kOffsetsSpace, encode_key(group_id, tp)));
    if (!value) return std::optional<CommittedOffset>();
    BROOK_ASSIGN_OR_RETURN(auto decoded, decode_value(group_id, tp, *value));
    return std::optional<CommittedOffset>(decoded);
}

Result<std::map<TopicPartition, CommittedOffset>> OffsetTable::fetch_all(
    std::string_view group_id) {
    BROOK_RETURN_IF_ERROR(validate_group_id(group_id));
    const std::string prefix = key_prefix(group_id);
    BROOK_ASSIGN_OR_RETURN(auto entries, meta_.scan(format::kOffsetsSpace, prefix));
    std::map<TopicPartition, CommittedOffset> out;
    for (const auto& [key, value] : entries) {
        auto tp = decode_key_suffix(std::string_view(key).substr(prefix.size()));
        if (!tp) {
            return Status::corruption(fmt::format(
                "group '{}' has a malformed offset key in the metadata store", group_id));
        }
        BROOK_ASSIGN_OR_RETURN(auto decoded, decode_value(group_id, *tp, value));
        out.emplace(std::move(*tp), decoded);
    }
    return out;
}

Result<std::vector<std::string>> OffsetTable::groups() {
    BROOK_ASSIGN_OR_RETURN(auto entries, meta_.scan(format::kOffsetsSpace, ""));
    std::vector<std::string> out;
    for (const auto& [key, value] : entries) {
        const std::string_view group =
            std::string_view(key).substr(0, key.find(format::kKeySeparator));
        if (out.empty() || out.back() != group) out.emplace_back(group);
    }
    return out;
}

Status OffsetTable::remove(std::string_view group_id, std::optional<std::string_view> topic) {
    BROOK_RETURN_IF_ERROR(validate_group_id(group_id));
    const std::string prefix = topic ? topic_prefix(group_id, *topic) : key_prefix(group_id);
    BROOK_ASSIGN_OR_RETURN(auto entries, meta_.scan(format::kOffsetsSpace, prefix));
    std::vector<meta::MetaStore::Write> writes;
    for (auto& [key, value] : entries) {
        writes.push_back({std::string(format::kOffsetsSpace), std::move(key), std::nullopt});
    }
    if (writes.empty()) return Status::ok();
    return meta_.write(writes);
}

Status OffsetTable::remove_topic(std::string_view topic) {
    BROOK_ASSIGN_OR_RETURN(auto entries, meta_.scan(format::kOffsetsSpace, ""));
    std::vector<meta::MetaStore::Write> writes;
    for (auto& [key, value] : entries) {
        const std::size_t end = key.find(format::kKeySeparator);
        if (end == std::string::npos) continue;
        const auto tp = decode_key_suffix(std::string_view(key).substr(end + 1));
        if (!tp || tp->topic != topic) continue;
        writes.push_back({std::string(format::kOffsetsSpace), std::move(key), std::nullopt});
    }
    if (writes.empty()) return Status::ok();
    return meta_.write(writes);
}

}  // namespace brook::group

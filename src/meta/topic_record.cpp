#include "meta/topic_record.hpp"

#include <fmt/format.h>

#include <cassert>
#include <limits>
#include <span>

#include "meta/format.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace brook::meta {
namespace {

std::span<const std::byte> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

void append_u32(std::string& out, std::uint32_t v) {
    std::byte buf[4];
    util::store_le<std::uint32_t>(buf, v);
    out.append(reinterpret_cast<const char*>(buf), sizeof buf);
}

void append_string(std::string& out, std::string_view s) {
    assert(s.size() <= std::numeric_limits<std::uint32_t>::max());
    append_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

// Reads length-prefixed strings from the override area, refusing to run past its end.
class Reader {
  public:
    explicit Reader(std::string_view bytes) : rest_(bytes) {}

    bool read_string(std::string_view& out) {
        if (rest_.size() < format::kLengthSize) return false;
        const auto length =
            util::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(rest_.data()));
        rest_.remove_prefix(format::kLengthSize);
        if (length > rest_.size()) return false;
        out = rest_.substr(0, length);
        rest_.remove_prefix(length);
        return true;
    }
    std::size_t left() const { return rest_.size(); }

  private:
    std::string_view rest_;
};

Status corrupt(std::string_view name, std::string_view what) {
    return Status::corruption(
        fmt::format("metadata record of topic '{}' is corrupt: {}", name, what));
}

}  // namespace

std::string encode_topic_record(const TopicRecord& topic) {
    std::string out(format::kOverridesPos, '\0');
    auto* head = reinterpret_cast<std::byte*>(out.data());
    util::store_le<std::uint8_t>(head + format::kVersionPos, format::kCurrentTopicRecordVersion);
    util::store_le<std::uint64_t>(head + format::kTopicIdPos, topic.topic_id);
    util::store_le<std::int32_t>(head + format::kPartitionsPos, topic.partitions);
    assert(topic.overrides.size() <= std::numeric_limits<std::uint32_t>::max());
    util::store_le<std::uint32_t>(head + format::kOverrideCountPos,
                                  static_cast<std::uint32_t>(topic.overrides.size()));
    for (const auto& [key, value] : topic.overrides) {
        append_string(out, key);
        append_string(out, value);
    }
    std::byte sum[format::kChecksumSize];
    util::store_le<std::uint64_t>(sum, util::xxh3_64(as_bytes(out)));
    out.append(reinterpret_cast<const char*>(sum), sizeof sum);
    return out;
}

Result<TopicRecord> decode_topic_record(std::string_view name, std::string_view bytes) {
    if (bytes.size() < format::kMinTopicRecordSize) {
        return corrupt(name, fmt::format("{} bytes, at least {} expected", bytes.size(),
                                         format::kMinTopicRecordSize));
    }
    const std::string_view body = bytes.substr(0, bytes.size() - format::kChecksumSize);
    const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
    if (util::load_le<std::uint64_t>(p + body.size()) != util::xxh3_64(as_bytes(body))) {
        return corrupt(name, "checksum mismatch");
    }
    const auto version = util::load_le<std::uint8_t>(p + format::kVersionPos);
    if (version != format::kTopicRecordV1) {
        return Status::not_supported(fmt::format(
            "metadata record of topic '{}' has version {}, which this brook cannot read; it was "
            "written by a newer version",
            name, version));
    }
    TopicRecord topic;
    topic.name = std::string(name);
    topic.topic_id = util::load_le<std::uint64_t>(p + format::kTopicIdPos);
    topic.partitions = util::load_le<std::int32_t>(p + format::kPartitionsPos);
    const auto count = util::load_le<std::uint32_t>(p + format::kOverrideCountPos);
    Reader reader(body.substr(format::kOverridesPos));
    // Each override takes at least two length fields, which bounds the count before any work.
    if (count > reader.left() / (2 * format::kLengthSize)) {
        return corrupt(name,
                       fmt::format("{} overrides cannot fit in {} bytes", count, reader.left()));
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string_view key;
        std::string_view value;
        if (!reader.read_string(key) || !reader.read_string(value)) {
            return corrupt(name, fmt::format("override {} runs past the end", i));
        }
        if (!topic.overrides.empty() && key <= topic.overrides.rbegin()->first) {
            return corrupt(name, fmt::format("override key {} is out of order", i));
        }
        topic.overrides.emplace_hint(topic.overrides.end(), key, value);
    }
    if (reader.left() != 0) {
        return corrupt(name, fmt::format("{} unexpected bytes after the overrides", reader.left()));
    }
    return topic;
}

Status check_topic_name(std::string_view name) {
    if (name.empty() || name.size() > format::kMaxKeyBytes) {
        return Status::invalid_argument(
            fmt::format("topic name is {} bytes; the metadata store takes 1 to {}", name.size(),
                        format::kMaxKeyBytes));
    }
    return Status::ok();
}

Status check_state_key(std::string_view space, std::string_view key) {
    if (space.empty() || space.find(format::kSpaceSeparator) != std::string_view::npos) {
        return Status::invalid_argument(
            "metadata key space name must be non-empty and contain no 0x00 byte");
    }
    if (space.size() + 1 + key.size() > format::kMaxKeyBytes) {
        return Status::invalid_argument(fmt::format(
            "metadata key in space '{}' is {} bytes; space name plus key plus one may be at most "
            "{}",
            space, key.size(), format::kMaxKeyBytes));
    }
    return Status::ok();
}

std::string state_key(std::string_view space, std::string_view key) {
    std::string out;
    out.reserve(space.size() + 1 + key.size());
    out.append(space);
    out.push_back(format::kSpaceSeparator);
    out.append(key);
    return out;
}

}  // namespace brook::meta

// Message, Header and the topic-partition value types shared by Producer and Consumer.
//
// A Message is what a consumer receives: topic, partition, offset, key and value (both
// nullable; a null value is a tombstone), headers, timestamp, and an error. A Message owns its
// bytes: the string_views returned by key(), value() and the header accessors point into
// memory the Message keeps alive and stay valid until it is destroyed or assigned to. Copy out
// what must outlive it. Messages from one read of a partition share that read's buffer (up to
// max.partition.fetch.bytes), so a Message kept for long keeps that buffer.
//
// Thread safety: plain values.
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brook {

struct Header {
    std::string key{};
    std::optional<std::string> value{};

    friend bool operator==(const Header&, const Header&) = default;
};
using Headers = std::vector<Header>;

struct TopicPartition {
    std::string topic{};
    PartitionId partition{};

    friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// Special offsets for assign() and seek(), with Kafka's values.
inline constexpr Offset kOffsetBeginning{-2};  // the log start offset
inline constexpr Offset kOffsetEnd{-1};        // the log end offset
inline constexpr Offset kOffsetInvalid{-1001};

struct TopicPartitionOffset {
    std::string topic{};
    PartitionId partition{};
    Offset offset = kOffsetInvalid;

    friend bool operator==(const TopicPartitionOffset&, const TopicPartitionOffset&) = default;
};

enum class TimestampType : std::uint8_t { create_time, log_append_time };

// Which records a reader sees (the consumer's isolation.level): every appended record, or
// only those of committed transactions, up to the last stable offset (docs/exactly-once.md).
enum class IsolationLevel : std::uint8_t { read_uncommitted, read_committed };

// A consumer's place in its group, from Consumer::group_metadata(), for
// Producer::send_offsets_to_transaction: the group refuses the offsets if the member has
// left or the group has moved to a newer generation (Kafka's ConsumerGroupMetadata).
struct ConsumerGroupMetadata {
    std::string group_id{};
    std::int32_t generation_id = -1;  // -1 when the consumer is not a group member
    std::string member_id{};          // "" when the consumer is not a group member
    std::optional<std::string> group_instance_id{};
};

class Message {
public:
    Message() = default;

    // A message that only carries an error, for a partition (or none).
    static Message from_error(Status error, std::string topic = {}, PartitionId partition = {});

    const std::string& topic() const noexcept { return topic_; }
    PartitionId partition() const noexcept { return partition_; }
    Offset offset() const noexcept { return offset_; }
    std::optional<std::string_view> key() const noexcept;
    std::optional<std::string_view> value() const noexcept;
    const Headers& headers() const noexcept { return headers_; }
    std::int64_t timestamp() const noexcept { return timestamp_; }
    TimestampType timestamp_type() const noexcept { return timestamp_type_; }
    // ok for a record; otherwise the message carries no record.
    const Status& error() const noexcept { return error_; }

    // Used by the consumer to build messages.
    Message(std::string topic, PartitionId partition, Offset offset, std::optional<std::string> key,
            std::optional<std::string> value, Headers headers, std::int64_t timestamp,
            TimestampType timestamp_type);
    // As above, with key and value viewing bytes that `storage` keeps alive (no copy).
    Message(std::string topic, PartitionId partition, Offset offset,
            std::shared_ptr<const void> storage, std::optional<std::string_view> key,
            std::optional<std::string_view> value, Headers headers, std::int64_t timestamp,
            TimestampType timestamp_type);

private:
    std::string topic_;
    PartitionId partition_;
    Offset offset_ = kOffsetInvalid;
    Headers headers_;
    std::int64_t timestamp_ = -1;
    TimestampType timestamp_type_ = TimestampType::create_time;
    Status error_;
    // What key_view_ and value_view_ point into.
    std::shared_ptr<const void> storage_;
    std::optional<std::string_view> key_view_;
    std::optional<std::string_view> value_view_;
};

}  // namespace brook

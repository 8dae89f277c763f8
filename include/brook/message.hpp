// Message, Header and the topic-partition value types shared by Producer and Consumer.
//
// A Message is what a consumer receives: topic, partition, offset, key and value (both
// nullable; a null value is a tombstone), headers, timestamp, and an error. A Message owns its
// bytes: the string_views returned by key(), value() and the header accessors point into
// memory the Message keeps alive and stay valid until it is destroyed or assigned to. Copy out
// what must outlive it. Messages from one read of a partition share that read's buffer (up to
// max.partition.fetch.bytes), its topic name and its decoded headers, so a Message kept for
// long keeps that buffer, and copying a Message copies no bytes. Where the read viewed the
// bytes in place (docs/architecture.md, "Reading"), the buffer is a block of the segment's
// copies of its newest batches (at most 128 KiB) or, with Options::mmap_segment_reads, the
// segment file's mapping: a Message kept for long then also keeps the disk space of a segment
// that retention or compaction has removed, as an open file would. A read goes back to its
// consumer once its last Message is gone; a thread that destroyed some of those Messages may
// hold it until that thread next polls, destroys a Message of another read, or exits.
//
// Thread safety: plain values. Messages sharing a read may be used and destroyed on different
// threads.
#pragma once

#include <atomic>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

namespace detail {

struct MessageSource;

// References to one MessageSource that the calling thread has dropped but not yet subtracted
// from its count (see MessageSource::release).
struct DeferredRelease {
    const MessageSource* source = nullptr;
    std::int64_t count = 0;
};
extern thread_local constinit DeferredRelease deferred_release;

// Subtracts the calling thread's deferred references from their source, recycling it if they
// were its last. Any thread; the consumer calls it at each poll, and each thread at its exit.
void flush_deferred_release() noexcept;

// What Messages share: their topic and error, and (in subclasses) the memory their key, value
// and headers live in. The consumer makes one per read of a partition; its Messages keep it
// alive. The Messages holding it are counted in it (SourceRef), so that the consumer takes
// the references of a whole batch of Messages with one atomic add, and a thread dropping many
// of them in a row subtracts them with one atomic subtraction (DeferredRelease). The last one
// to go recycles it, on whatever thread that is.
struct MessageSource {
    MessageSource() = default;
    MessageSource(std::string topic_name, Status status)
        : topic(std::move(topic_name)), error(std::move(status)) {}
    MessageSource(const MessageSource&) = delete;
    MessageSource& operator=(const MessageSource&) = delete;
    virtual ~MessageSource() = default;

    // Takes `n` references more. Any thread.
    void acquire(std::int64_t n = 1) const noexcept {
        refs_.fetch_add(n, std::memory_order_relaxed);
    }
    // Drops one reference. Any thread. While other references remain, the drop may be kept
    // in the thread's DeferredRelease and subtracted later, together with the thread's next
    // drops of this source, when the thread drops a reference to another source, calls
    // flush_deferred_release() or exits: the source lives at least as long as it is
    // referenced, and at most until then. The last reference recycles the source at once.
    void release() const noexcept {
        DeferredRelease& deferred = deferred_release;
        if (deferred.source != this) return release_first();
        // A count above the deferred drops and this one means other references remain.
        if (refs_.load(std::memory_order_relaxed) - deferred.count > 1) {
            ++deferred.count;
            return;
        }
        const std::int64_t dropped = deferred.count + 1;
        deferred = {};
        if (refs_.fetch_sub(dropped, std::memory_order_acq_rel) == dropped) recycle();
    }

    std::string topic;
    Status error;

  protected:
    // Runs once the last reference is dropped: deletes the source, or (in a subclass) hands
    // it back to whoever reuses it.
    virtual void recycle() const noexcept { delete this; }

  private:
    friend void flush_deferred_release() noexcept;
    // release() when the thread has deferred no drop of this source: flushes the deferred
    // drops of another, then drops this reference or defers it.
    void release_first() const noexcept;
    // Subtracts `n` references; the last one recycles the source.
    void release_now(std::int64_t n) const noexcept {
        if (refs_.fetch_sub(n, std::memory_order_acq_rel) == n) recycle();
    }

    mutable std::atomic<std::int64_t> refs_{0};
};

// One counted reference to a MessageSource, or none.
class SourceRef {
  public:
    SourceRef() = default;
    // Takes a new reference to `source` (null for none).
    explicit SourceRef(const MessageSource* source) noexcept : source_(source) {
        if (source_ != nullptr) source_->acquire();
    }
    // Takes over a reference to `source` already counted for it (see MessageSource::acquire).
    static SourceRef adopt(const MessageSource* source) noexcept {
        SourceRef ref;
        ref.source_ = source;
        return ref;
    }
    SourceRef(const SourceRef& other) noexcept : SourceRef(other.source_) {}
    SourceRef(SourceRef&& other) noexcept : source_(std::exchange(other.source_, nullptr)) {}
    SourceRef& operator=(SourceRef other) noexcept {
        std::swap(source_, other.source_);
        return *this;
    }
    ~SourceRef() {
        if (source_ != nullptr) source_->release();
    }

    const MessageSource* get() const noexcept { return source_; }
    const MessageSource* operator->() const noexcept { return source_; }
    explicit operator bool() const noexcept { return source_ != nullptr; }

  private:
    const MessageSource* source_ = nullptr;
};

}  // namespace detail

class Message {
  public:
    Message() = default;

    // A message that only carries an error, for a partition (or none).
    static Message from_error(Status error, std::string topic = {}, PartitionId partition = {});

    const std::string& topic() const noexcept { return source_ ? source_->topic : no_topic(); }
    PartitionId partition() const noexcept { return partition_; }
    Offset offset() const noexcept { return offset_; }
    std::optional<std::string_view> key() const noexcept {
        if (!has_key_) return std::nullopt;
        return std::string_view(key_, key_size_);
    }
    std::optional<std::string_view> value() const noexcept {
        if (!has_value_) return std::nullopt;
        return std::string_view(value_, value_size_);
    }
    const Headers& headers() const noexcept { return headers_ ? *headers_ : no_headers(); }
    std::int64_t timestamp() const noexcept { return timestamp_; }
    TimestampType timestamp_type() const noexcept { return timestamp_type_; }
    // ok for a record; otherwise the message carries no record.
    const Status& error() const noexcept { return source_ ? source_->error : no_error(); }

    // Used by the consumer to build messages.
    Message(std::string topic, PartitionId partition, Offset offset, std::optional<std::string> key,
            std::optional<std::string> value, Headers headers, std::int64_t timestamp,
            TimestampType timestamp_type);
    // As above, with key and value viewing bytes that `storage` keeps alive (no copy).
    Message(std::string topic, PartitionId partition, Offset offset,
            std::shared_ptr<const void> storage, std::optional<std::string_view> key,
            std::optional<std::string_view> value, Headers headers, std::int64_t timestamp,
            TimestampType timestamp_type);
    // As above, sharing `source`: key, value and `*headers` (null for none) must live in it.
    // REQUIRES: source is not null and its error is ok.
    Message(std::shared_ptr<const detail::MessageSource> source, PartitionId partition,
            Offset offset, std::optional<std::string_view> key,
            std::optional<std::string_view> value, const Headers* headers, std::int64_t timestamp,
            TimestampType timestamp_type);
    // As above, holding the reference `source`.
    Message(detail::SourceRef source, PartitionId partition, Offset offset,
            std::optional<std::string_view> key, std::optional<std::string_view> value,
            const Headers* headers, std::int64_t timestamp, TimestampType timestamp_type) noexcept
        : source_(std::move(source)),
          headers_(headers),
          key_(key ? key->data() : nullptr),
          value_(value ? value->data() : nullptr),
          key_size_(key ? key->size() : 0),
          value_size_(value ? value->size() : 0),
          offset_(offset),
          timestamp_(timestamp),
          partition_(partition),
          timestamp_type_(timestamp_type),
          has_key_(key.has_value()),
          has_value_(value.has_value()) {}

  private:
    static const std::string& no_topic() noexcept;
    static const Headers& no_headers() noexcept;
    static const Status& no_error() noexcept;

    // Topic, error, and what key_, value_ and headers_ point into; null for Message().
    detail::SourceRef source_;
    const Headers* headers_ = nullptr;  // null when the message has none
    const char* key_ = nullptr;
    const char* value_ = nullptr;
    std::size_t key_size_ = 0;
    std::size_t value_size_ = 0;
    Offset offset_ = kOffsetInvalid;
    std::int64_t timestamp_ = -1;
    PartitionId partition_;
    TimestampType timestamp_type_ = TimestampType::create_time;
    bool has_key_ = false;
    bool has_value_ = false;
};

}  // namespace brook

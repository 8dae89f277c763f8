// TopicRouter: the general route of a record (topic_router.hpp has the cached one).
#include "client/topic_router.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace brook::client {

Status TopicRouter::route(const RecordRef& record, RecordAccumulator::Lock& lock, Route& r) {
    BROOK_RETURN_IF_ERROR(cached_topic(record.topic, lock, r));
    const detail::TopicState& state = *r.topic;
    const TopicLimits limits = limits_of(state);
    if (!record.key && limits.needs_key) {
        return Status::invalid_argument(fmt::format(
            "topic '{}' is compacted (cleanup.policy includes compact), so every record needs "
            "a key; compaction keeps the latest record per key",
            record.topic));
    }
    const std::int32_t count = state.partition_count();
    std::int32_t partition = 0;
    if (record.partition) {
        partition = record.partition->value();
        if (partition < 0 || partition >= count) {
            return Status::not_found(fmt::format(
                "partition {} of topic '{}' does not exist; the topic has {} partitions "
                "(0 to {})",
                partition, record.topic, count, count - 1));
        }
    } else if (record.key) {
        partition = key_partition(*record.key, count);
    } else {
        partition = sticky_.partition(state.record.name, count);
    }

    r.partition = PartitionId(partition);
    if (session_.checks_produce()) {
        // The session may call the transaction coordinator: not under the accumulator's lock.
        if (!r.held) r.held = topic_;
        lock.unlock();
        const Status added = session_.before_produce({state.record.name, r.partition});
        lock.lock();
        BROOK_RETURN_IF_ERROR(added);
    }
    if (set_target(record, limits, r) == Fits::surely) return Status::ok();
    // Like Kafka's producer, judge a record by its uncompressed size alone in a batch
    // (exactly, only when its bound is above the limit).
    const std::size_t alone =
        log::format::kBatchHeaderSize + log::BatchBuilder::record_size(r.fields, 0, 0);
    if (alone > limits.max_message_bytes) {
        return Status::error(
            Code::record_too_large,
            fmt::format("a record of {} bytes (as a batch of its own) exceeds max.message.bytes "
                        "= {} of topic '{}'; send a smaller record or raise max.message.bytes",
                        alone, limits.max_message_bytes, record.topic));
    }
    return Status::ok();
}

// On a miss it asks the store with the lock released, and sets r.held.
Status TopicRouter::cached_topic(std::string_view name, RecordAccumulator::Lock& lock, Route& r) {
    const std::uint64_t version = core_.topology_version();
    if (topic_ && version_ == version && topic_->record.name == name) {
        r.topic = topic_.get();
        return Status::ok();
    }
    lock.unlock();
    auto topic = core_.topic(name);
    lock.lock();
    if (!topic.is_ok()) {
        if (topic.code() != Code::not_found) return topic.status();
        return Status::not_found(
            fmt::format("unknown topic '{}'; create it first with Store::create_topic", name));
    }
    r.held = std::move(topic).value();
    r.topic = r.held.get();
    topic_ = r.held;
    version_ = version;
    limits_ = limits_of(*topic_);
    return Status::ok();
}

TopicRouter::TopicLimits TopicRouter::limits_of(const detail::TopicState& state) const {
    const auto limit = static_cast<std::size_t>(state.config.max_message_bytes);
    const log::Compression compression = compression_for(state.config);
    // zstd may grow incompressible records a little; a batch must stay below the format's hard
    // limit after compression, or it could not be split when the log refuses it.
    constexpr std::size_t kZstdBatchLimit =
        log::format::kMaxBatchBytes - (log::format::kMaxBatchBytes >> 7);
    return {limit, compression == log::Compression::zstd ? std::min(limit, kZstdBatchLimit) : limit,
            compression, state.config.cleanup_policy != store::CleanupPolicy::delete_segments};
}

log::Compression TopicRouter::compression_for(const store::TopicConfig& topic) const {
    switch (topic.compression_type) {
        case store::CompressionType::zstd:
            return log::Compression::zstd;
        case store::CompressionType::uncompressed:
            return log::Compression::none;
        case store::CompressionType::producer:
            break;
    }
    return config_.compression;
}

}  // namespace brook::client

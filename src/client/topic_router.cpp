// TopicRouter: the general route of a record (topic_router.hpp has the cached one).
#include "client/topic_router.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace brook::client {

namespace {

Status compacted_needs_key(std::string_view topic) {
    return Status::invalid_argument(fmt::format(
        "topic '{}' is compacted (cleanup.policy includes compact), so every record needs a "
        "key; compaction keeps the latest record per key",
        topic));
}

}  // namespace

Status TopicRouter::route(const RecordRef& record, RecordAccumulator::Lock& lock, Route& r) {
    BROOK_RETURN_IF_ERROR(cached_topic(record.topic, lock, r));
    const detail::TopicState& state = *r.topic;
    const TopicLimits limits = limits_of(state);
    if (!record.key && limits.needs_key) return compacted_needs_key(record.topic);
    const std::int32_t count = state.partition_count();
    if (record.partition) {
        BROOK_RETURN_IF_ERROR(check_partition(record.topic, *record.partition, count));
        r.partition = *record.partition;
    } else if (record.key) {
        r.partition = PartitionId(key_partition(*record.key, count));
    } else {
        r.partition = PartitionId(sticky_.partition(state.record.name, count));
    }
    // Like Kafka's producer, judge a record by its uncompressed size alone in a batch
    // (exactly, only when its bound is above the limit), and before a transaction learns of
    // its partition: a refused record adds nothing to the transaction.
    if (set_target(record, limits, r) == Fits::maybe) {
        const std::size_t alone =
            log::format::kBatchHeaderSize + log::BatchBuilder::record_size(r.fields, 0, 0);
        if (alone > limits.max_message_bytes) {
            return Status::error(
                Code::record_too_large,
                fmt::format("a record of {} bytes (as a batch of its own) exceeds "
                            "max.message.bytes = {} of topic '{}'; send a smaller record or "
                            "raise max.message.bytes",
                            alone, limits.max_message_bytes, record.topic));
        }
        if (alone > limits.max_record_bytes) {
            return Status::error(
                Code::record_too_large,
                fmt::format("a record of {} bytes (as a batch of its own) exceeds the producer's "
                            "buffer.memory = {}; send a smaller record or raise buffer.memory",
                            alone, limits.max_record_bytes));
        }
    }
    return register_partition(lock, r);
}

Status TopicRouter::route_batch(std::string_view topic, std::optional<PartitionId> partition,
                                std::span<const BatchRecord> records, RecordAccumulator::Lock& lock,
                                Route& r) {
    BROOK_RETURN_IF_ERROR(cached_topic(topic, lock, r));
    const detail::TopicState& state = *r.topic;
    const TopicLimits limits = limits_of(state);
    const std::int32_t count = state.partition_count();
    if (partition) BROOK_RETURN_IF_ERROR(check_partition(topic, *partition, count));
    std::optional<std::size_t> first_keyed;
    std::int32_t keyed_partition = 0;
    // Only keys need a look: their partitions when none was given, their presence on a
    // compacted topic. Sizes are checked as the records are encoded.
    for (std::size_t i = 0; (!partition || limits.needs_key) && i < records.size(); ++i) {
        const BatchRecord& record = records[i];
        if (!record.key) {
            if (limits.needs_key) return compacted_needs_key(topic);
            continue;
        }
        if (partition) continue;
        const std::int32_t p = key_partition(*record.key, count);
        if (!first_keyed) {
            first_keyed = i;
            keyed_partition = p;
        } else if (p != keyed_partition) {
            return Status::invalid_argument(fmt::format(
                "the records of one produce_batch() call go to one partition, but the keys of "
                "records {} and {} map to partitions {} and {} of topic '{}'; pass the "
                "partition, or make one call per partition",
                *first_keyed, i, keyed_partition, p, topic));
        }
    }
    if (partition) {
        r.partition = *partition;
    } else if (first_keyed) {
        r.partition = PartitionId(keyed_partition);
    } else {
        r.partition = PartitionId(sticky_.partition(state.record.name, count));
    }
    BROOK_RETURN_IF_ERROR(register_partition(lock, r));
    r.target = {&state.partitions[r.partition.value()], count, limits.compression,
                limits.max_batch_bytes};
    r.timestamp = core_.clock().now_ms();
    return Status::ok();
}

Status TopicRouter::batch_too_large(std::string_view topic, std::size_t records, std::size_t bytes,
                                    std::size_t limit) {
    return Status::error(
        Code::record_too_large,
        fmt::format("a produce_batch() of {} records takes at least {} bytes as a batch of its "
                    "own, above max.message.bytes = {} of topic '{}'; split the call or raise "
                    "max.message.bytes",
                    records, bytes, limit, topic));
}

Status TopicRouter::check_partition(std::string_view topic, PartitionId partition,
                                    std::int32_t count) {
    if (partition.value() >= 0 && partition.value() < count) return Status::ok();
    return Status::not_found(
        fmt::format("partition {} of topic '{}' does not exist; the topic has {} partitions "
                    "(0 to {})",
                    partition.value(), topic, count, count - 1));
}

Status TopicRouter::register_partition(RecordAccumulator::Lock& lock, Route& r) {
    if (!session_.checks_produce()) return Status::ok();
    // The session may call the transaction coordinator: not under the accumulator's lock.
    if (!r.held) r.held = topic_;
    lock.unlock();
    const Status added = session_.before_produce({r.topic->record.name, r.partition});
    lock.lock();
    return added;
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
    return {limit, std::min(limit, config_.buffer_memory),
            compression == log::Compression::zstd ? std::min(limit, kZstdBatchLimit) : limit,
            compression, state.config.cleanup_policy != store::CleanupPolicy::delete_segments};
}

log::Compression TopicRouter::compression_for(const store::TopicConfig& topic) const {
    switch (topic.compression_type) {
        case store::CompressionType::zstd: return log::Compression::zstd;
        case store::CompressionType::uncompressed: return log::Compression::none;
        case store::CompressionType::producer: break;
    }
    return config_.compression;
}

}  // namespace brook::client

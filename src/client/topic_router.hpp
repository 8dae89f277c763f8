// TopicRouter: where a Producer's record goes. It resolves the record's topic (from a one-topic
// cache that any change of the store's topics invalidates), checks the record against the
// topic (a key for a compacted topic, the partition's existence, max.message.bytes), picks its
// partition (the one given, the key's hash, or the sticky partition) and says how its batch is
// encoded (compression, size bound).
//
// Ownership: a Producer's Impl owns one, with the StoreCore, the producer's config and its
// transaction session outliving it.
// Thread safety: every method requires the Producer's accumulator lock (RecordAccumulator::
// lock()), which guards the topic cache, so that a record takes one lock. route() may release
// it meanwhile and holds it again on return. on_seal() runs under the same lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "client/partitioner.hpp"
#include "client/producer_config.hpp"
#include "client/record_accumulator.hpp"
#include "log/batch_builder.hpp"
#include "log/format.hpp"
#include "store/store_core.hpp"
#include "txn/producer_session.hpp"

namespace brook::client {

// a == b for a topic name, inline: names are short, and a call to memcmp per record cost about
// 25 instructions. Names of 4 to 16 bytes compare as two overlapping words.
[[gnu::always_inline]] inline bool same_name(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size();
    if (n != b.size()) return false;
    auto load = [](const char* p, auto word) {
        std::memcpy(&word, p, sizeof(word));
        return word;
    };
    if (n >= 8 && n <= 16) {
        return ((load(a.data(), std::uint64_t{}) ^ load(b.data(), std::uint64_t{})) |
                (load(a.data() + n - 8, std::uint64_t{}) ^
                 load(b.data() + n - 8, std::uint64_t{}))) == 0;
    }
    if (n >= 4 && n < 8) {
        return ((load(a.data(), std::uint32_t{}) ^ load(b.data(), std::uint32_t{})) |
                (load(a.data() + n - 4, std::uint32_t{}) ^
                 load(b.data() + n - 4, std::uint32_t{}))) == 0;
    }
    return a == b;
}

// A routed record: its topic, partition and batch target, its timestamp and encoded size.
struct Route {
    // The topic: the router's cached snapshot while the accumulator's lock is held, or `held`'s.
    const detail::TopicState* topic = nullptr;
    // Set when route() had to release the lock: keeps topic (and target.partition) alive.
    std::shared_ptr<const detail::TopicState> held;
    PartitionId partition;
    BatchTarget target;
    std::int64_t timestamp = 0;
    std::size_t fields = 0;  // BatchBuilder::fields_size() of the record
};

class TopicRouter {
  public:
    TopicRouter(detail::StoreCore& core, const ProducerConfig& config,
                txn::ProducerSession& session)
        : core_(core), config_(config), session_(session) {}

    TopicRouter(const TopicRouter&) = delete;
    TopicRouter& operator=(const TopicRouter&) = delete;

    // route() from the cache alone, for the common case: the cached topic, unchanged since; a
    // partition given, or chosen from the key; no transaction to check; and a record well
    // below max.message.bytes. Sets `r` as route() would.
    // @return false when route() must decide instead (any error included).
    [[gnu::always_inline]] bool route_cached(const RecordRef& record, Route& r) {
        const detail::TopicState* state = topic_.get();
        if (state == nullptr || version_ != core_.topology_version() ||
            !same_name(state->record.name, record.topic) || session_.checks_produce() ||
            (!record.key && limits_.needs_key)) {
            return false;
        }
        const std::int32_t count = state->partition_count();
        std::int32_t partition = 0;
        if (record.partition) {
            partition = record.partition->value();
            if (partition < 0 || partition >= count) return false;
        } else if (record.key) {
            partition = key_partition(*record.key, count);
        } else {
            return false;  // sticky
        }
        r.topic = state;
        r.partition = PartitionId(partition);
        return set_target(record, limits_, r) == Fits::surely;
    }

    // Routes any record: resolves its topic, checks it and picks its partition; with a
    // transaction, registers the partition with it (with the lock released).
    // @return not_found for an unknown topic or partition; invalid_argument for a null key on a
    //         compacted topic; record_too_large above max.message.bytes or the producer's
    //         buffer.memory; the session's error (fenced, a transaction state error) or the
    //         store's (closed, io_error).
    Status route(const RecordRef& record, RecordAccumulator::Lock& lock, Route& r);

    // Routes the records of a produce_batch() call together, checking their keys as route()
    // does: sets r.topic, r.partition and r.target for all of them, and r.timestamp to the
    // time for records without one. Their size is left to RecordAccumulator::add_all().
    // @return route()'s errors but record_too_large; invalid_argument when no partition is
    //         given and keyed records map to different partitions.
    Status route_batch(std::string_view topic, std::optional<PartitionId> partition,
                       std::span<const BatchRecord> records, RecordAccumulator::Lock& lock,
                       Route& r);

    // record_too_large for a produce_batch() call of `records` records that take at least
    // `bytes` as a batch of their own, above `limit` (the Route's target.max_batch_bytes).
    static Status batch_too_large(std::string_view topic, std::size_t records, std::size_t bytes,
                                  std::size_t limit);

    // Moves sticky partitioning on: a batch was sealed.
    void on_seal(const Batch& batch) {
        sticky_.on_new_batch(batch.partition->topic, batch.partition->id.value(),
                             batch.partition_count);
    }

  private:
    // What a topic's config (and this producer's) means for the records produced to it.
    struct TopicLimits {
        std::size_t max_message_bytes = 0;
        // The largest record accepted (as a batch of its own): the smaller of
        // max.message.bytes and the producer's buffer.memory.
        std::size_t max_record_bytes = 0;
        std::size_t max_batch_bytes = 0;  // BatchTarget::max_batch_bytes
        log::Compression compression = log::Compression::none;
        bool needs_key = false;  // compacted: a null key is refused
    };

    // Whether a record fits in a batch of its own below max_record_bytes: surely (by the
    // bound of its encoded size), or maybe (only its exact size can tell).
    enum class Fits : bool { maybe, surely };

    // Sets r.target, r.timestamp and r.fields for the record, from r.topic and r.partition.
    [[gnu::always_inline]] Fits set_target(const RecordRef& record, const TopicLimits& limits,
                                           Route& r) const {
        const detail::TopicState& state = *r.topic;
        r.target = {&state.partitions[r.partition.value()], state.partition_count(),
                    limits.compression, limits.max_batch_bytes};
        r.timestamp = record.timestamp ? *record.timestamp : core_.clock().now_ms();
        r.fields = log::BatchBuilder::fields_size(record.key, record.value, record.headers);
        return log::format::kBatchHeaderSize + r.fields + log::BatchBuilder::kMaxRecordOverhead <=
                       limits.max_record_bytes
                   ? Fits::surely
                   : Fits::maybe;
    }

    std::int32_t key_partition(std::string_view key, std::int32_t count) const {
        return config_.partitioner == PartitionerKind::xxh3 ? xxh3_partition(key, count)
                                                            : murmur2_partition(key, count);
    }

    Status cached_topic(std::string_view name, RecordAccumulator::Lock& lock, Route& r);
    // Checks a partition the caller gave against the topic's `count` partitions.
    static Status check_partition(std::string_view topic, PartitionId partition,
                                  std::int32_t count);
    // Lets a transactional session register r.partition, with the lock released.
    Status register_partition(RecordAccumulator::Lock& lock, Route& r);
    TopicLimits limits_of(const detail::TopicState& state) const;
    log::Compression compression_for(const store::TopicConfig& topic) const;

    detail::StoreCore& core_;
    const ProducerConfig& config_;
    txn::ProducerSession& session_;
    StickyPartitioner sticky_;
    std::shared_ptr<const detail::TopicState> topic_;
    std::uint64_t version_ = 0;  // StoreCore::topology_version() when topic_ was cached
    TopicLimits limits_;         // limits_of(*topic_)
};

}  // namespace brook::client

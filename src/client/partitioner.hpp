// Partitioners: how a Producer picks the partition of a record it was not given one for.
//
// A record with a key goes to a partition that is a pure function of the key and the
// partition count. With the murmur2 partitioner that function is exactly the one of Kafka's
// Java client (Utils.murmur2 and BuiltInPartitioner.partitionForKey), so a key lands on the
// same partition in brook as it would in Kafka. The xxh3 partitioner uses XXH3-64 instead.
// A record with a null key uses sticky partitioning (Kafka's KIP-480): every record for a
// topic goes to one randomly chosen partition until the batch for that partition is sent,
// then a different random partition is chosen.
//
// Thread safety: the free functions are pure and may be called from any thread.
// StickyPartitioner is internally synchronized by a mutex: one instance may be shared by any
// number of threads, as a Producer's is.
//
// Errors: parse_partitioner returns invalid_argument for an unknown name. The partition
// functions require num_partitions > 0 (checked by assert); they have no failure mode.
#pragma once

#include <brook/status.hpp>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace brook::client {

// Kafka's Utils.murmur2: MurmurHash2 with seed 0x9747b28c, returning the same signed 32-bit
// value the Java client returns for the same bytes.
std::int32_t murmur2(std::span<const std::byte> data) noexcept;
std::int32_t murmur2(std::string_view data) noexcept;

// Kafka's Utils.toPositive: clears the sign bit (value & 0x7fffffff). Not the absolute value.
std::int32_t to_positive(std::int32_t value) noexcept;

// Kafka's BuiltInPartitioner.partitionForKey: to_positive(murmur2(key)) % num_partitions.
// REQUIRES: num_partitions > 0.
std::int32_t murmur2_partition(std::string_view key, std::int32_t num_partitions);

// XXH3-64 of the key (seed 0), as an unsigned value, modulo num_partitions.
// REQUIRES: num_partitions > 0.
std::int32_t xxh3_partition(std::string_view key, std::int32_t num_partitions);

// Which hash maps a key to its partition. Records with a null key are sticky under both.
enum class PartitionerKind : std::uint8_t {
    murmur2,  // Kafka's Java client mapping.
    xxh3,     // XXH3-64; not compatible with Kafka clients.
};

// Parses the producer's "partitioner" config value. Accepts "murmur2", "murmur2_random" (the
// librdkafka name for the same behaviour: murmur2 for keys, random/sticky for null keys) and
// "xxh3".
// @return invalid_argument naming the key "partitioner" and the allowed values otherwise.
Result<PartitionerKind> parse_partitioner(std::string_view name);

// Sticky partitioning for records with a null key, per topic. The first call for a topic
// picks a random partition; partition() keeps returning it until on_new_batch() reports that
// a batch for it was completed, which moves the topic to a different random partition.
//
// Thread safety: every method may be called from any number of threads at once.
class StickyPartitioner {
  public:
    // Seeds the random choice from std::random_device.
    StickyPartitioner();
    // Seeds the random choice with `seed`: the same seed and calls give the same partitions
    // (with the same standard library).
    explicit StickyPartitioner(std::uint32_t seed);

    StickyPartitioner(const StickyPartitioner&) = delete;
    StickyPartitioner& operator=(const StickyPartitioner&) = delete;

    // The sticky partition of `topic`. Chooses a new random one if the topic has none yet, or
    // if its partition is no longer below num_partitions (the partition count changed).
    // REQUIRES: num_partitions > 0.
    std::int32_t partition(const std::string& topic, std::int32_t num_partitions);

    // Reports that the batch for `previous_partition` of `topic` was completed. If the topic's
    // sticky partition is still previous_partition, switches to a random partition other than
    // previous_partition (when num_partitions > 1). If another thread already switched, does
    // nothing, so concurrent reports for one batch switch only once.
    // REQUIRES: num_partitions > 0.
    void on_new_batch(const std::string& topic, std::int32_t previous_partition,
                      std::int32_t num_partitions);

  private:
    // A uniformly random partition below num_partitions, other than `avoid` when avoid is a
    // valid partition and num_partitions > 1. REQUIRES: mu_ held.
    std::int32_t random_partition(std::int32_t num_partitions, std::int32_t avoid);

    std::mutex mu_;
    std::mt19937 rng_;                                      // Guarded by mu_.
    std::unordered_map<std::string, std::int32_t> sticky_;  // Guarded by mu_.
};

}  // namespace brook::client

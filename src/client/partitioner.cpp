#include "client/partitioner.hpp"

#include <cassert>

#include "util/checksum.hpp"

namespace brook::client {
namespace {

std::span<const std::byte> as_bytes(std::string_view s) noexcept {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::uint32_t byte_at(std::span<const std::byte> data, std::size_t i) noexcept {
    return std::to_integer<std::uint32_t>(data[i]);  // Java's (data[i] & 0xff).
}

}  // namespace

// A port of Kafka's Utils.murmur2. Java's int arithmetic wraps and its >>> is a logical
// shift, so the port computes in std::uint32_t and converts to a signed value only at the end.
std::int32_t murmur2(std::span<const std::byte> data) noexcept {
    constexpr std::uint32_t seed = 0x9747b28c;
    constexpr std::uint32_t m = 0x5bd1e995;
    constexpr int r = 24;

    const std::size_t length = data.size();
    std::uint32_t h = seed ^ static_cast<std::uint32_t>(length);

    const std::size_t length4 = length / 4;
    for (std::size_t i = 0; i < length4; ++i) {
        const std::size_t i4 = i * 4;
        std::uint32_t k = byte_at(data, i4) | (byte_at(data, i4 + 1) << 8) |
                          (byte_at(data, i4 + 2) << 16) | (byte_at(data, i4 + 3) << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }

    const std::size_t tail = length & ~std::size_t{3};
    switch (length % 4) {
        case 3: h ^= byte_at(data, tail + 2) << 16; [[fallthrough]];
        case 2: h ^= byte_at(data, tail + 1) << 8; [[fallthrough]];
        case 1: h ^= byte_at(data, tail); h *= m;
    }

    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return static_cast<std::int32_t>(h);  // Modular since C++20: the bits Java returns.
}

std::int32_t murmur2(std::string_view data) noexcept {
    return murmur2(as_bytes(data));
}

std::int32_t to_positive(std::int32_t value) noexcept {
    return value & 0x7fffffff;
}

std::int32_t murmur2_partition(std::string_view key, std::int32_t num_partitions) {
    assert(num_partitions > 0);
    return to_positive(murmur2(key)) % num_partitions;
}

std::int32_t xxh3_partition(std::string_view key, std::int32_t num_partitions) {
    assert(num_partitions > 0);
    return static_cast<std::int32_t>(util::xxh3_64(as_bytes(key)) %
                                     static_cast<std::uint64_t>(num_partitions));
}

Result<PartitionerKind> parse_partitioner(std::string_view name) {
    if (name == "murmur2" || name == "murmur2_random") return PartitionerKind::murmur2;
    if (name == "xxh3") return PartitionerKind::xxh3;
    return Status::invalid_argument("partitioner = \"" + std::string(name) +
                                    "\" is not supported; it must be one of murmur2, "
                                    "murmur2_random, xxh3");
}

StickyPartitioner::StickyPartitioner() : rng_(std::random_device{}()) {}

StickyPartitioner::StickyPartitioner(std::uint32_t seed) : rng_(seed) {}

std::int32_t StickyPartitioner::partition(const std::string& topic, std::int32_t num_partitions) {
    assert(num_partitions > 0);
    std::lock_guard lock(mu_);
    auto it = sticky_.find(topic);
    if (it != sticky_.end() && it->second < num_partitions) return it->second;
    const std::int32_t chosen = random_partition(num_partitions, -1);
    sticky_.insert_or_assign(topic, chosen);
    return chosen;
}

void StickyPartitioner::on_new_batch(const std::string& topic, std::int32_t previous_partition,
                                     std::int32_t num_partitions) {
    assert(num_partitions > 0);
    std::lock_guard lock(mu_);
    auto it = sticky_.find(topic);
    if (it != sticky_.end() && it->second != previous_partition && it->second < num_partitions) {
        return;  // Already moved on, by an earlier report for the same batch.
    }
    sticky_.insert_or_assign(topic, random_partition(num_partitions, previous_partition));
}

std::int32_t StickyPartitioner::random_partition(std::int32_t num_partitions, std::int32_t avoid) {
    if (num_partitions == 1) return 0;
    if (avoid < 0 || avoid >= num_partitions) {
        return std::uniform_int_distribution<std::int32_t>(0, num_partitions - 1)(rng_);
    }
    // Draw among the num_partitions - 1 others, then skip over `avoid`: uniform, one draw.
    const std::int32_t drawn =
        std::uniform_int_distribution<std::int32_t>(0, num_partitions - 2)(rng_);
    return drawn >= avoid ? drawn + 1 : drawn;
}

}  // namespace brook::client

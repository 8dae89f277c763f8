// ProducerConfig: a Producer's settings, parsed and checked from its Config.
//
// The keys, their defaults and meanings are documented in include/brook/producer.hpp. Parsing
// is strict: integers must be the whole value, in plain decimal, within range.
//
// Errors: invalid_argument naming the key, the value and what is accepted; for an unknown
// key, listing the known keys.
// Thread safety: pure functions; a ProducerConfig is a plain value.
#pragma once

#include <brook/config.hpp>
#include <brook/status.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "client/partitioner.hpp"
#include "log/record_batch.hpp"

namespace brook::client {

struct ProducerConfig {
    // acks=all or -1: a report is only given once an fsync covers the record.
    bool durable = false;
    std::chrono::milliseconds linger{5};
    std::size_t batch_size = 16384;
    // buffer.memory: the bytes of batches not yet appended (client/buffer_memory.hpp).
    std::size_t buffer_memory = 33554432;
    // max.block.ms: how long produce() waits for room in buffer.memory.
    std::chrono::milliseconds max_block{60000};
    log::Compression compression = log::Compression::none;
    PartitionerKind partitioner = PartitionerKind::murmur2;
    std::chrono::milliseconds delivery_timeout{120000};
    std::string client_id;
    // enable.idempotence: batches carry a producer id, epoch and sequence (txn/).
    bool idempotent = true;
    std::optional<std::string> transactional_id;
    std::int32_t transaction_timeout_ms = 60000;
};

// Builds a ProducerConfig from Kafka's defaults overlaid with `config`. delivery.timeout.ms
// must be at least linger.ms, as in Kafka's Java client, since a batch may linger that long.
// buffer.memory must be at least batch.size, since every batch takes that much of it when it
// opens (Kafka fails each send instead).
// transactional.id needs enable.idempotence, as in Kafka.
// @return invalid_argument for the first bad setting, in key order.
Result<ProducerConfig> parse_producer_config(const Config& config);

}  // namespace brook::client

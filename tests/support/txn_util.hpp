// Helpers for tests of idempotent and transactional appends: batches carrying a producer id,
// epoch and sequence, and transaction markers.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "log/control_batch.hpp"
#include "log/partition_log.hpp"
#include "log/record_batch.hpp"

namespace brook::testing {

struct ProducerBatch {
    ProducerBatch(std::int64_t id, std::int16_t producer_epoch, std::int32_t base_sequence,
                  int record_count = 1, bool in_transaction = false, std::string value_tag = "r",
                  std::string key_group = "")
        : producer_id(id),
          epoch(producer_epoch),
          sequence(base_sequence),
          records(record_count),
          transactional(in_transaction),
          tag(std::move(value_tag)),
          key_tag(std::move(key_group)) {}

    std::int64_t producer_id = 0;
    std::int16_t epoch = 0;
    std::int32_t sequence = 0;
    int records = 1;
    bool transactional = false;
    std::string tag = "r";  // record values are <tag>v<i>
    std::string key_tag;    // record keys are <key_tag>k<i>; <tag>k<i> when empty
};

inline std::vector<log::Record> producer_records(const ProducerBatch& b) {
    std::vector<log::Record> records;
    for (int i = 0; i < b.records; ++i) {
        log::Record r;
        r.key = (b.key_tag.empty() ? b.tag : b.key_tag) + "k" + std::to_string(i);
        r.value = b.tag + "v" + std::to_string(i);
        r.timestamp = 1000 + i;
        records.push_back(std::move(r));
    }
    return records;
}

inline std::vector<std::byte> encode_producer_batch(const ProducerBatch& b) {
    log::BatchOptions options;
    options.producer_id = b.producer_id;
    options.producer_epoch = b.epoch;
    options.base_sequence = b.sequence;
    options.transactional = b.transactional;
    auto encoded = log::encode_batch(producer_records(b), options);
    REQUIRE(encoded.is_ok());
    return std::move(encoded).value();
}

// Appends the batch; the caller checks the result.
inline Result<log::AppendResult> try_append(log::PartitionLog& log, const ProducerBatch& b) {
    auto bytes = encode_producer_batch(b);
    return log.append(bytes);
}

inline Result<log::AppendResult> append_marker(log::PartitionLog& log, std::int64_t producer_id,
                                               std::int16_t epoch, log::ControlType type) {
    auto bytes = log::encode_control_batch(producer_id, epoch, type, 5000);
    REQUIRE(bytes.is_ok());
    return log.append(*bytes);
}

}  // namespace brook::testing

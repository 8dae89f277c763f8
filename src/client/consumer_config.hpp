// ConsumerConfig: the Consumer's settings, parsed from a Config of Kafka's key names.
//
// Keys and defaults are documented in include/brook/consumer.hpp. auto.offset.reset also
// accepts the aliases librdkafka accepts: "smallest" and "beginning" for earliest, "largest"
// and "end" for latest. Integers must be the whole value, without spaces or fractions.
//
// Errors: invalid_argument naming the key, the value and what is accepted.
// Thread safety: a pure function over plain values.
#pragma once

#include <brook/config.hpp>
#include <brook/message.hpp>
#include <brook/status.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "client/group_client.hpp"

namespace brook::client {

// Where a consumer goes when its position is unknown or outside the log.
enum class OffsetReset : std::uint8_t {
    earliest,  // the log start offset
    latest,    // the log end offset
    none,      // report offset_out_of_range for the partition
};

struct ConsumerConfig {
    OffsetReset auto_offset_reset = OffsetReset::latest;
    // How long one wait for new data lasts on a read-only store, which no append in this
    // process wakes.
    std::chrono::milliseconds fetch_wait_max{500};
    std::int32_t max_partition_fetch_bytes = 1024 * 1024;
    // enable.read.ahead (brook's own): a background thread reads a partition's next batches
    // while the current ones are handed out.
    bool read_ahead = true;
    std::string client_id;
    // isolation.level: read_committed reads up to the last stable offset, without aborted
    // transactions.
    IsolationLevel isolation = IsolationLevel::read_uncommitted;
    // Consumer groups: group.id ("" for none) and the member's settings.
    std::string group_id;
    GroupClientConfig group;
};

// @return invalid_argument for an unknown key or a bad value, naming the key.
Result<ConsumerConfig> parse_consumer_config(const Config& config);

}  // namespace brook::client

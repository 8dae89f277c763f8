// Topic configs: Kafka's per-topic settings, their types, defaults and ranges, and how the
// store layers them.
//
// A topic's effective config is built from three layers, later ones winning: Kafka's defaults
// (built into brook), the store's Options::topic_defaults, and the topic's own overrides (set by
// create_topic and alter_topic_config). Each layer is a Config of Kafka's key names and string
// values. Every key and value is checked against one table (topic_config_keys()), which also
// feeds describe_topic, the CLI and docs/api.md.
//
// Parsing is strict: integers and doubles must be the whole value, with no spaces, signs other
// than '-', fractions in integers, or overflow; "cleanup.policy" is a comma-separated list whose
// items may have spaces around them, as in Kafka. brook stores zstd batches only, so
// compression.type accepts "producer", "uncompressed" and "zstd" and refuses Kafka's gzip,
// snappy and lz4.
//
// Errors: invalid_argument naming the key, the value and what is accepted.
// Thread safety: pure functions; topic_config_keys() returns a table built once, safe to share.
#pragma once

#include <brook/config.hpp>
#include <brook/status.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "log/log_config.hpp"
#include "log/record_batch.hpp"

namespace brook::store {

// cleanup.policy: what happens to old data. Written "delete", "compact" or "compact,delete".
enum class CleanupPolicy : std::uint8_t {
    delete_segments,     // "delete": remove whole segments past retention.ms or retention.bytes
    compact,             // "compact": keep the latest record for each key
    compact_and_delete,  // "compact,delete": both
};

// compression.type: the codec batches are stored with.
enum class CompressionType : std::uint8_t {
    producer,      // keep whatever the producer sent
    uncompressed,  // store batches uncompressed
    zstd,          // store batches compressed with zstd
};

// The effective configuration of one topic, typed. Default-constructed, it holds Kafka's
// defaults; these initialisers are the single source of the defaults topic_config_keys() shows.
struct TopicConfig {
    CleanupPolicy cleanup_policy = CleanupPolicy::delete_segments;
    std::int64_t retention_ms = 7LL * 24 * 60 * 60 * 1000;  // -1: no time limit
    std::int64_t retention_bytes = -1;                      // -1: no size limit
    std::int32_t segment_bytes = 1024 * 1024 * 1024;
    std::int64_t segment_ms = 7LL * 24 * 60 * 60 * 1000;
    std::int32_t segment_index_bytes = 10 * 1024 * 1024;
    std::int32_t index_interval_bytes = 4096;
    std::int32_t max_message_bytes = 1024 * 1024 + 12;
    CompressionType compression_type = CompressionType::producer;
    std::int64_t flush_messages = std::numeric_limits<std::int64_t>::max();
    std::int64_t flush_ms = std::numeric_limits<std::int64_t>::max();
    std::int64_t delete_retention_ms = 24LL * 60 * 60 * 1000;
    double min_cleanable_dirty_ratio = 0.5;
    std::int64_t min_compaction_lag_ms = 0;
    std::int64_t max_compaction_lag_ms = std::numeric_limits<std::int64_t>::max();
    log::TimestampType message_timestamp_type = log::TimestampType::create_time;

    friend bool operator==(const TopicConfig&, const TopicConfig&) = default;
};

// One topic config key, for documentation, the CLI and describe output.
struct ConfigKeyInfo {
    std::string name;           // "retention.ms"
    std::string type;           // Kafka's type: "int", "long", "double", "list" or "string"
    std::string default_value;  // Kafka's default, in canonical form: "604800000"
    std::string valid_values;   // what is accepted, in words: "an integer >= -1 (...)"
    std::string description;    // one sentence: what the setting means
};

// Every topic config key, sorted by name.
const std::vector<ConfigKeyInfo>& topic_config_keys();

// Checks one layer of settings: every key known, every value of the right type and in range.
// @return invalid_argument for the first bad setting (in key order), naming the key, the value
//         and what is accepted; for an unknown key, listing the known keys.
Status validate_topic_config(const Config& settings);

// Builds a topic's effective config from Kafka's defaults, then `store_defaults`, then
// `topic_overrides`. When `entries` is not null and the call succeeds, it is replaced by every
// key, sorted by name, with its effective value in canonical form and the layer it came from.
// @return invalid_argument as for validate_topic_config; an error in `store_defaults` says so.
Result<TopicConfig> resolve_topic_config(const Config& store_defaults,
                                         const Config& topic_overrides,
                                         std::vector<ConfigEntry>* entries = nullptr);

// The canonical form of one setting, as resolve_topic_config reports it: integers in plain
// decimal, the ratio in shortest round-trip form ("0.5", "1.0"), and cleanup.policy as
// "delete", "compact" or "compact,delete" whatever the order, spacing or repetition given.
// @return invalid_argument as for validate_topic_config.
Result<std::string> canonical_value(std::string_view name, std::string_view value);

// The settings the log engine obeys, taken from a topic's config.
log::LogConfig to_log_config(const TopicConfig& config);

}  // namespace brook::store

// Config: string key/value settings, as in librdkafka and confluent-kafka.
//
// Topic, producer, consumer and store-wide settings are all given as a Config whose keys are
// Kafka's names ("retention.ms", "linger.ms", "auto.offset.reset", ...) and whose values are
// strings, parsed and checked by the component that reads them. An unknown key, or a value of
// the wrong type or range, is refused with invalid_argument naming the key.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace brook {

using Config = std::map<std::string, std::string>;

// Where an effective topic config value came from.
enum class ConfigSource : std::uint8_t {
    default_value,  // Kafka's default, built into brook
    store,          // Options::topic_defaults of the store
    topic,          // set on the topic by create_topic or alter_topic_config
};

struct ConfigEntry {
    std::string name{};
    std::string value{};
    ConfigSource source = ConfigSource::default_value;

    friend bool operator==(const ConfigEntry&, const ConfigEntry&) = default;
};

}  // namespace brook

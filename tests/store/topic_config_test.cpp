#include "store/topic_config.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "store/topic_name.hpp"

namespace brook::store {
namespace {

constexpr const char* kLongMax = "9223372036854775807";
constexpr const char* kIntMax = "2147483647";

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// Kafka's defaults, in canonical form, sorted by key.
const std::vector<std::pair<std::string, std::string>> kDefaults = {
    {"cleanup.policy", "delete"},
    {"compression.type", "producer"},
    {"delete.retention.ms", "86400000"},
    {"flush.messages", kLongMax},
    {"flush.ms", kLongMax},
    {"index.interval.bytes", "4096"},
    {"max.compaction.lag.ms", kLongMax},
    {"max.message.bytes", "1048588"},
    {"message.timestamp.type", "CreateTime"},
    {"min.cleanable.dirty.ratio", "0.5"},
    {"min.compaction.lag.ms", "0"},
    {"retention.bytes", "-1"},
    {"retention.ms", "604800000"},
    {"segment.bytes", "1073741824"},
    {"segment.index.bytes", "10485760"},
    {"segment.ms", "604800000"},
};

// Per key: a value of the wrong form, values out of range, and the extremes that are accepted.
struct KeyCase {
    std::string name;
    std::string wrong_type;
    std::vector<std::string> out_of_range;
    std::string min;
    std::string max;
};

const std::vector<KeyCase> kCases = {
    {"cleanup.policy", "", {"remove", "delete,"}, "delete", "compact,delete"},
    {"compression.type", "", {"snappy", "ZSTD"}, "producer", "zstd"},
    {"delete.retention.ms", "1.5", {"-1"}, "0", kLongMax},
    {"flush.messages", "12abc", {"0"}, "1", kLongMax},
    {"flush.ms", " 12", {"-1"}, "0", kLongMax},
    {"index.interval.bytes", "2147483648", {"-1"}, "0", kIntMax},
    {"max.compaction.lag.ms", "9223372036854775808", {"0"}, "1", kLongMax},
    {"max.message.bytes", "abc", {"60", "67108865"}, "61", "67108864"},
    {"message.timestamp.type", "", {"createtime", "LogAppendTime "}, "CreateTime", "LogAppendTime"},
    {"min.cleanable.dirty.ratio", "half", {"-0.1", "1.01", "nan", "inf"}, "0", "1"},
    {"min.compaction.lag.ms", "1e3", {"-1"}, "0", kLongMax},
    {"retention.bytes", "+5", {"-2"}, "-1", kLongMax},
    {"retention.ms", "abc", {"-2"}, "-1", kLongMax},
    {"segment.bytes", "2147483648", {"13"}, "14", kIntMax},
    {"segment.index.bytes", "0x10", {"55"}, "56", kIntMax},
    {"segment.ms", "", {"0"}, "1", kLongMax},
};

std::vector<ConfigEntry> entries_for(const Config& store, const Config& topic) {
    std::vector<ConfigEntry> entries;
    const Result<TopicConfig> resolved = resolve_topic_config(store, topic, &entries);
    REQUIRE_MESSAGE(resolved.is_ok(), resolved.status().to_string());
    return entries;
}

const ConfigEntry& entry(const std::vector<ConfigEntry>& entries, std::string_view name) {
    for (const ConfigEntry& e : entries) {
        if (e.name == name) return e;
    }
    FAIL("no entry for " << name);
    return entries.front();
}

TEST_CASE("resolve with no settings gives Kafka's default for every key") {
    std::vector<ConfigEntry> entries;
    const Result<TopicConfig> resolved = resolve_topic_config({}, {}, &entries);
    REQUIRE(resolved.is_ok());
    CHECK(*resolved == TopicConfig{});
    REQUIRE(entries.size() == kDefaults.size());
    for (std::size_t i = 0; i < kDefaults.size(); ++i) {
        CAPTURE(kDefaults[i].first);
        CHECK(entries[i] ==
              ConfigEntry{kDefaults[i].first, kDefaults[i].second, ConfigSource::default_value});
    }
}

TEST_CASE("topic_config_keys lists every key with its default, type and description") {
    const std::vector<ConfigKeyInfo>& keys = topic_config_keys();
    REQUIRE(keys.size() == kDefaults.size());
    REQUIRE(keys.size() == kCases.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        CAPTURE(keys[i].name);
        CHECK(keys[i].name == kDefaults[i].first);
        CHECK(keys[i].name == kCases[i].name);
        CHECK(keys[i].default_value == kDefaults[i].second);
        CHECK(!keys[i].type.empty());
        CHECK(!keys[i].valid_values.empty());
        CHECK(keys[i].description.ends_with("."));
    }
    CHECK(keys[0].type == "list");
    CHECK(keys[2].type == "long");
    CHECK(keys[5].type == "int");
    CHECK(keys[9].type == "double");
    CHECK(keys[1].type == "string");
}

TEST_CASE("store defaults override Kafka's and topic overrides override the store's") {
    const Config store = {{"retention.ms", "1000"}, {"segment.bytes", "4096"}};
    const Config topic = {{"segment.bytes", "8192"}, {"cleanup.policy", "compact"}};
    std::vector<ConfigEntry> entries = entries_for(store, topic);
    REQUIRE(entries.size() == kDefaults.size());
    CHECK(entry(entries, "retention.ms") ==
          ConfigEntry{"retention.ms", "1000", ConfigSource::store});
    CHECK(entry(entries, "segment.bytes") ==
          ConfigEntry{"segment.bytes", "8192", ConfigSource::topic});
    CHECK(entry(entries, "cleanup.policy") ==
          ConfigEntry{"cleanup.policy", "compact", ConfigSource::topic});
    CHECK(entry(entries, "segment.ms") ==
          ConfigEntry{"segment.ms", "604800000", ConfigSource::default_value});

    const Result<TopicConfig> resolved = resolve_topic_config(store, topic);
    REQUIRE(resolved.is_ok());
    CHECK(resolved->retention_ms == 1000);
    CHECK(resolved->segment_bytes == 8192);
    CHECK(resolved->cleanup_policy == CleanupPolicy::compact);
}

TEST_CASE("every key refuses a value of the wrong form, naming the key and value") {
    for (const KeyCase& c : kCases) {
        CAPTURE(c.name);
        CAPTURE(c.wrong_type);
        const Status status = validate_topic_config({{c.name, c.wrong_type}});
        CHECK(status == Code::invalid_argument);
        CHECK(contains(status.message(), c.name));
        CHECK(contains(status.message(), "'" + c.wrong_type + "'"));
        CHECK(contains(status.message(), "expected"));
    }
}

TEST_CASE("every key refuses a value out of range, naming the key") {
    for (const KeyCase& c : kCases) {
        for (const std::string& value : c.out_of_range) {
            CAPTURE(c.name);
            CAPTURE(value);
            const Status status = validate_topic_config({{c.name, value}});
            CHECK(status == Code::invalid_argument);
            CHECK(contains(status.message(), c.name));
            CHECK(contains(status.message(), "'" + value + "'"));
        }
    }
}

TEST_CASE("every key accepts its extremes, and the result suits the log engine") {
    Config lows;
    Config highs;
    for (const KeyCase& c : kCases) {
        CAPTURE(c.name);
        CHECK(validate_topic_config({{c.name, c.min}}).is_ok());
        CHECK(validate_topic_config({{c.name, c.max}}).is_ok());
        lows[c.name] = c.min;
        highs[c.name] = c.max;
    }
    for (const Config& settings : {lows, highs}) {
        const Result<TopicConfig> resolved = resolve_topic_config({}, settings);
        REQUIRE_MESSAGE(resolved.is_ok(), resolved.status().to_string());
        const Status log_status = to_log_config(*resolved).validate();
        CHECK_MESSAGE(log_status.is_ok(), log_status.to_string());
    }
}

TEST_CASE("messages say what was wrong and what is accepted") {
    CHECK(validate_topic_config({{"retention.ms", "abc"}}).message() ==
          "retention.ms = 'abc' is not a valid long; expected an integer >= -1 "
          "(-1 means unlimited)");
    CHECK(validate_topic_config({{"segment.bytes", "13"}}).message() ==
          "segment.bytes = '13' is out of range; expected an integer between 14 and "
          "2147483647");
    CHECK(validate_topic_config({{"segment.bytes", "2147483648"}}).message() ==
          "segment.bytes = '2147483648' is not a valid int; expected an integer between 14 and "
          "2147483647");
    CHECK(validate_topic_config({{"min.cleanable.dirty.ratio", "2"}}).message() ==
          "min.cleanable.dirty.ratio = '2' is out of range; expected a number between 0 and 1");
    CHECK(validate_topic_config({{"message.timestamp.type", "Now"}}).message() ==
          "message.timestamp.type = 'Now' is not valid; expected 'CreateTime' or "
          "'LogAppendTime'");
}

TEST_CASE("an unknown key is refused, naming it and listing the known keys") {
    const Status status = validate_topic_config({{"retention.hours", "1"}});
    CHECK(status == Code::invalid_argument);
    CHECK(contains(status.message(),
                   "unknown topic config 'retention.hours'; known configs: "
                   "cleanup.policy, compression.type, "));
    CHECK(contains(status.message(), ", segment.ms"));
    // Broker-level names are not topic configs.
    CHECK(validate_topic_config({{"log.retention.ms", "1"}}) == Code::invalid_argument);
}

TEST_CASE("resolve refuses a bad setting in either layer and says which") {
    const Result<TopicConfig> bad_store = resolve_topic_config({{"segment.ms", "0"}}, {});
    CHECK(bad_store.code() == Code::invalid_argument);
    CHECK(bad_store.status().message().starts_with("in the store's topic_defaults: segment.ms"));

    std::vector<ConfigEntry> entries = {{"untouched", "x", ConfigSource::topic}};
    const Result<TopicConfig> bad_topic = resolve_topic_config({}, {{"flush.ms", "-5"}}, &entries);
    CHECK(bad_topic.code() == Code::invalid_argument);
    CHECK(bad_topic.status().message().starts_with("flush.ms = '-5'"));
    CHECK(entries.size() == 1);
}

TEST_CASE("cleanup.policy accepts either policy, both in either order, with spaces") {
    const std::vector<std::pair<std::string, CleanupPolicy>> valid = {
        {"delete", CleanupPolicy::delete_segments},
        {"compact", CleanupPolicy::compact},
        {"compact,delete", CleanupPolicy::compact_and_delete},
        {"delete,compact", CleanupPolicy::compact_and_delete},
        {" delete , compact ", CleanupPolicy::compact_and_delete},
        {"compact,compact", CleanupPolicy::compact},
    };
    for (const auto& [value, policy] : valid) {
        CAPTURE(value);
        const Result<TopicConfig> resolved = resolve_topic_config({}, {{"cleanup.policy", value}});
        REQUIRE(resolved.is_ok());
        CHECK(resolved->cleanup_policy == policy);
    }
    CHECK(*canonical_value("cleanup.policy", "delete, compact") == "compact,delete");
    CHECK(*canonical_value("cleanup.policy", "compact ,delete") == "compact,delete");
    for (const char* bad : {"", " ", ",", "delete,", ",compact", "delete compact", "Delete"}) {
        CAPTURE(bad);
        CHECK(validate_topic_config({{"cleanup.policy", bad}}) == Code::invalid_argument);
    }
}

TEST_CASE("compression.type accepts brook's codecs and refuses Kafka's others") {
    CHECK(resolve_topic_config({}, {{"compression.type", "zstd"}})->compression_type ==
          CompressionType::zstd);
    CHECK(resolve_topic_config({}, {{"compression.type", "uncompressed"}})->compression_type ==
          CompressionType::uncompressed);
    for (const char* codec : {"gzip", "snappy", "lz4"}) {
        CAPTURE(codec);
        const Status status = validate_topic_config({{"compression.type", codec}});
        CHECK(status == Code::invalid_argument);
        CHECK(contains(status.message(),
                       "brook supports only 'producer', 'uncompressed' and "
                       "'zstd'"));
    }
}

TEST_CASE("canonical values are plain decimal and shortest round-trip ratios") {
    CHECK(*canonical_value("retention.ms", "007") == "7");
    CHECK(*canonical_value("retention.ms", "-1") == "-1");
    CHECK(*canonical_value("min.cleanable.dirty.ratio", "1") == "1.0");
    CHECK(*canonical_value("min.cleanable.dirty.ratio", "0") == "0.0");
    CHECK(*canonical_value("min.cleanable.dirty.ratio", "0.250") == "0.25");
    CHECK(*canonical_value("min.cleanable.dirty.ratio", "1e-1") == "0.1");
    CHECK(*canonical_value("message.timestamp.type", "LogAppendTime") == "LogAppendTime");
    CHECK(canonical_value("retention.ms", "1.0").code() == Code::invalid_argument);
    CHECK(canonical_value("nope", "1").code() == Code::invalid_argument);
}

TEST_CASE("to_log_config carries the log engine's settings") {
    const Config topic = {
        {"segment.bytes", "1000"},
        {"segment.ms", "2000"},
        {"segment.index.bytes", "3000"},
        {"index.interval.bytes", "40"},
        {"max.message.bytes", "5000"},
        {"flush.messages", "6"},
        {"flush.ms", "7"},
        {"message.timestamp.type", "LogAppendTime"},
    };
    const Result<TopicConfig> resolved = resolve_topic_config({}, topic);
    REQUIRE(resolved.is_ok());
    const log::LogConfig log_config = to_log_config(*resolved);
    CHECK(log_config.segment_bytes == 1000);
    CHECK(log_config.segment_ms == 2000);
    CHECK(log_config.segment_index_bytes == 3000);
    CHECK(log_config.index_interval_bytes == 40);
    CHECK(log_config.max_message_bytes == 5000);
    CHECK(log_config.flush_messages == 6);
    CHECK(log_config.flush_ms == 7);
    CHECK(log_config.message_timestamp_type == log::TimestampType::log_append_time);

    // Kafka's defaults map to the log engine's own defaults.
    const log::LogConfig from_defaults = to_log_config(TopicConfig{});
    const log::LogConfig log_defaults;
    CHECK(from_defaults.segment_bytes == log_defaults.segment_bytes);
    CHECK(from_defaults.segment_ms == log_defaults.segment_ms);
    CHECK(from_defaults.segment_index_bytes == log_defaults.segment_index_bytes);
    CHECK(from_defaults.index_interval_bytes == log_defaults.index_interval_bytes);
    CHECK(from_defaults.max_message_bytes == log_defaults.max_message_bytes);
    CHECK(from_defaults.flush_messages == log_defaults.flush_messages);
    CHECK(from_defaults.flush_ms == log_defaults.flush_ms);
    CHECK(from_defaults.message_timestamp_type == log_defaults.message_timestamp_type);
}

TEST_CASE("valid topic names are accepted") {
    for (const std::string& name :
         {std::string("a"), std::string("orders.v1"), std::string("user-events"),
          std::string("A_b-9"), std::string("..."), std::string(249, 'x')}) {
        CAPTURE(name);
        CHECK(validate_topic_name(name).is_ok());
    }
}

TEST_CASE("invalid topic names are refused with the reason and the rule") {
    const std::vector<std::string> invalid = {
        "", ".", "..", std::string(250, 'x'), "a/b", "a b", "ü", std::string("a\0b", 3), "../x",
    };
    for (const std::string& name : invalid) {
        CAPTURE(name);
        const Status status = validate_topic_name(name);
        CHECK(status == Code::invalid_argument);
        CHECK(contains(status.message(), "1 to 249 characters"));
    }
    CHECK(validate_topic_name("a/b").message() ==
          "topic name 'a/b' contains '/', which is not allowed; use letters, digits, '.', '_' "
          "and '-' (1 to 249 characters)");
    CHECK(contains(validate_topic_name(std::string("a\0b", 3)).message(),
                   "'a\\x00b' contains the byte 0x00"));
    CHECK(contains(validate_topic_name("ü").message(), "contains the byte 0xc3"));
    CHECK(contains(validate_topic_name(std::string(250, 'x')).message(), "is 250 characters long"));
    CHECK(contains(validate_topic_name("..").message(), "reserved"));
    CHECK(validate_topic_name("").message().starts_with("topic name is empty"));
}

}  // namespace
}  // namespace brook::store

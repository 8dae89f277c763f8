#include "store/topic_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <system_error>

#include "log/format.hpp"

namespace brook::store {
namespace {

constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// How a key's value is parsed and where it is stored in TopicConfig.
enum class Kind : std::uint8_t {
    int32,             // Kafka "int": TopicConfig field named by int32_field, within [min, max]
    int64,             // Kafka "long": TopicConfig field named by int64_field, within [min, max]
    ratio,             // Kafka "double" within [0, 1]: min_cleanable_dirty_ratio
    cleanup_policy,    // Kafka "list": cleanup_policy
    compression_type,  // Kafka "string": compression_type
    timestamp_type,    // Kafka "string": message_timestamp_type
};

struct KeySpec {
    std::string_view name;
    Kind kind;
    std::string_view description;
    std::int64_t min = 0;
    std::int64_t max = 0;
    std::string_view note = {};  // added to the accepted range in messages and docs
    std::int32_t TopicConfig::*int32_field = nullptr;
    std::int64_t TopicConfig::*int64_field = nullptr;
};

constexpr KeySpec int32_key(std::string_view name, std::int32_t TopicConfig::*field,
                            std::int64_t min, std::int64_t max, std::string_view description) {
    return {.name = name,
            .kind = Kind::int32,
            .description = description,
            .min = min,
            .max = max,
            .int32_field = field};
}

constexpr KeySpec int64_key(std::string_view name, std::int64_t TopicConfig::*field,
                            std::int64_t min, std::string_view note, std::string_view description) {
    return {.name = name,
            .kind = Kind::int64,
            .description = description,
            .min = min,
            .max = kInt64Max,
            .note = note,
            .int64_field = field};
}

constexpr std::string_view kUnlimited = "(-1 means unlimited)";
// LogConfig::validate needs room for the index header and two time index entries.
constexpr std::int64_t kMinIndexBytes =
    log::format::kIndexHeaderSize + 2 * log::format::kTimeIndexEntrySize;

// Every topic config key, sorted by name.
constexpr std::array kKeys{
    KeySpec{.name = "cleanup.policy",
            .kind = Kind::cleanup_policy,
            .description = "How old data is removed: 'delete' drops whole segments past the "
                           "retention limits, 'compact' keeps only the latest record for each "
                           "key, and 'compact,delete' does both."},
    KeySpec{.name = "compression.type",
            .kind = Kind::compression_type,
            .description = "The codec batches are stored with: 'producer' keeps the producer's "
                           "codec, 'uncompressed' and 'zstd' store every batch that way."},
    int64_key("delete.retention.ms", &TopicConfig::delete_retention_ms, 0, {},
              "How long a tombstone is kept after compaction reaches it, so that consumers "
              "reading from the start still see the deletion."),
    int64_key("flush.messages", &TopicConfig::flush_messages, 1, {},
              "Force an fsync of the partition log once this many records have been appended "
              "since the last one."),
    int64_key("flush.ms", &TopicConfig::flush_ms, 0, {},
              "Force an fsync of the partition log once this many milliseconds have passed "
              "since the last one."),
    int32_key("index.interval.bytes", &TopicConfig::index_interval_bytes, 0, kInt32Max,
              "How many bytes of log are appended between two entries of the offset index."),
    int64_key("max.compaction.lag.ms", &TopicConfig::max_compaction_lag_ms, 1, {},
              "The longest time a record may stay uncompacted once it could be compacted."),
    int32_key("max.message.bytes", &TopicConfig::max_message_bytes, log::format::kBatchHeaderSize,
              log::format::kMaxBatchBytes,
              "The largest record batch, after compression, that the topic accepts."),
    KeySpec{.name = "message.timestamp.type",
            .kind = Kind::timestamp_type,
            .description = "Whether a record's timestamp is the producer's (CreateTime) or the "
                           "time the log appended it (LogAppendTime)."},
    KeySpec{.name = "min.cleanable.dirty.ratio",
            .kind = Kind::ratio,
            .description = "The fraction of the log that must be uncompacted before the "
                           "cleaner compacts it."},
    int64_key("min.compaction.lag.ms", &TopicConfig::min_compaction_lag_ms, 0, {},
              "The shortest time a record stays uncompacted after it is appended."),
    int64_key("retention.bytes", &TopicConfig::retention_bytes, -1, kUnlimited,
              "The size a partition may grow to before its oldest segments are deleted under "
              "the 'delete' policy."),
    int64_key("retention.ms", &TopicConfig::retention_ms, -1, kUnlimited,
              "How long records are kept before their segment is deleted under the 'delete' "
              "policy."),
    int32_key("segment.bytes", &TopicConfig::segment_bytes, 14, kInt32Max,
              "The size at which the active segment file is closed and a new one started."),
    int32_key("segment.index.bytes", &TopicConfig::segment_index_bytes, kMinIndexBytes, kInt32Max,
              "The preallocated size of each segment's offset and time index files."),
    int64_key("segment.ms", &TopicConfig::segment_ms, 1, {},
              "The age after which the active segment is closed even if it is not full, so "
              "that retention and compaction can act on it."),
};
static_assert(std::ranges::is_sorted(kKeys, {}, &KeySpec::name));

template <typename E>
struct Choice {
    std::string_view text;
    E value;
};

constexpr std::array<Choice<CompressionType>, 3> kCompressionChoices{{
    {"producer", CompressionType::producer},
    {"uncompressed", CompressionType::uncompressed},
    {"zstd", CompressionType::zstd},
}};
// Kafka's other codecs, which brook does not implement.
constexpr std::array<std::string_view, 3> kUnsupportedCodecs{"gzip", "snappy", "lz4"};

constexpr std::array<Choice<log::TimestampType>, 2> kTimestampChoices{{
    {"CreateTime", log::TimestampType::create_time},
    {"LogAppendTime", log::TimestampType::log_append_time},
}};

std::string_view type_name(Kind kind) {
    switch (kind) {
        case Kind::int32: return "int";
        case Kind::int64: return "long";
        case Kind::ratio: return "double";
        case Kind::cleanup_policy: return "list";
        case Kind::compression_type:
        case Kind::timestamp_type: return "string";
    }
    return "string";
}

// What a key accepts, in words, to follow "expected".
std::string accepted(const KeySpec& spec) {
    switch (spec.kind) {
        case Kind::int32:
        case Kind::int64: {
            // A long's upper bound goes unsaid; an int's is stated, as ints overflow early.
            std::string range = spec.max == kInt64Max ? fmt::format("an integer >= {}", spec.min)
                                                      : fmt::format("an integer between {} and {}",
                                                                    spec.min, spec.max);
            if (!spec.note.empty()) range += fmt::format(" {}", spec.note);
            return range;
        }
        case Kind::ratio: return "a number between 0 and 1";
        case Kind::cleanup_policy: return "'delete', 'compact' or 'compact,delete'";
        case Kind::compression_type: return "'producer', 'uncompressed' or 'zstd'";
        case Kind::timestamp_type: return "'CreateTime' or 'LogAppendTime'";
    }
    return {};
}

Status not_valid(const KeySpec& spec, std::string_view value) {
    const std::string_view type = type_name(spec.kind);
    const std::string what =
        spec.kind == Kind::int32 || spec.kind == Kind::int64 || spec.kind == Kind::ratio
            ? fmt::format("is not a valid {}", type)
            : std::string("is not valid");
    return Status::invalid_argument(
        fmt::format("{} = '{}' {}; expected {}", spec.name, value, what, accepted(spec)));
}

Status out_of_range(const KeySpec& spec, std::string_view value) {
    return Status::invalid_argument(
        fmt::format("{} = '{}' is out of range; expected {}", spec.name, value, accepted(spec)));
}

// True if all of `text` is a number of type T. No spaces, '+' or trailing characters.
template <typename T>
bool parse_number(std::string_view text, T* out) {
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
    return !text.empty() && ec == std::errc() && ptr == end;
}

std::string_view trim(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r\n\f\v";
    const std::size_t first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// Parses a comma-separated list of "delete" and "compact", spaces allowed around items.
bool parse_cleanup_policy(std::string_view text, CleanupPolicy* out) {
    bool deletes = false;
    bool compacts = false;
    for (std::size_t start = 0;;) {
        const std::size_t comma = text.find(',', start);
        const std::string_view item = trim(text.substr(start, comma - start));
        if (item == "delete") {
            deletes = true;
        } else if (item == "compact") {
            compacts = true;
        } else {
            return false;
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    *out = !compacts ? CleanupPolicy::delete_segments
                     : (deletes ? CleanupPolicy::compact_and_delete : CleanupPolicy::compact);
    return true;
}

template <typename E, std::size_t N>
bool parse_choice(const std::array<Choice<E>, N>& choices, std::string_view text, E* out) {
    const auto it = std::ranges::find(choices, text, &Choice<E>::text);
    if (it == choices.end()) return false;
    *out = it->value;
    return true;
}

template <typename E, std::size_t N>
std::string_view choice_text(const std::array<Choice<E>, N>& choices, E value) {
    return std::ranges::find(choices, value, &Choice<E>::value)->text;
}

// Parses `value` for `spec` and stores it in `config`.
Status apply(const KeySpec& spec, std::string_view value, TopicConfig& config) {
    switch (spec.kind) {
        case Kind::int32: {
            std::int32_t n = 0;
            if (!parse_number(value, &n)) return not_valid(spec, value);
            if (n < spec.min || n > spec.max) return out_of_range(spec, value);
            config.*spec.int32_field = n;
            return Status::ok();
        }
        case Kind::int64: {
            std::int64_t n = 0;
            if (!parse_number(value, &n)) return not_valid(spec, value);
            if (n < spec.min || n > spec.max) return out_of_range(spec, value);
            config.*spec.int64_field = n;
            return Status::ok();
        }
        case Kind::ratio: {
            double x = 0;
            if (!parse_number(value, &x)) return not_valid(spec, value);
            if (!(x >= 0.0 && x <= 1.0)) return out_of_range(spec, value);  // also refuses NaN
            config.min_cleanable_dirty_ratio = x;
            return Status::ok();
        }
        case Kind::cleanup_policy:
            if (!parse_cleanup_policy(value, &config.cleanup_policy)) {
                return not_valid(spec, value);
            }
            return Status::ok();
        case Kind::compression_type:
            if (std::ranges::find(kUnsupportedCodecs, value) != kUnsupportedCodecs.end()) {
                return Status::invalid_argument(
                    fmt::format("{} = '{}' is not supported; brook supports only 'producer', "
                                "'uncompressed' and 'zstd'",
                                spec.name, value));
            }
            if (!parse_choice(kCompressionChoices, value, &config.compression_type)) {
                return not_valid(spec, value);
            }
            return Status::ok();
        case Kind::timestamp_type:
            if (!parse_choice(kTimestampChoices, value, &config.message_timestamp_type)) {
                return not_valid(spec, value);
            }
            return Status::ok();
    }
    return not_valid(spec, value);
}

// Shortest round-trip form, with ".0" on whole numbers as Kafka (Java) prints doubles.
std::string format_double(double x) {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), x);
    std::string text(buffer.data(), result.ptr);
    if (text.find_first_not_of("-0123456789") == std::string::npos) text += ".0";
    return text;
}

// The canonical string form of `spec`'s value in `config`.
std::string format_value(const KeySpec& spec, const TopicConfig& config) {
    switch (spec.kind) {
        case Kind::int32: return std::to_string(config.*spec.int32_field);
        case Kind::int64: return std::to_string(config.*spec.int64_field);
        case Kind::ratio: return format_double(config.min_cleanable_dirty_ratio);
        case Kind::cleanup_policy:
            switch (config.cleanup_policy) {
                case CleanupPolicy::delete_segments: return "delete";
                case CleanupPolicy::compact: return "compact";
                case CleanupPolicy::compact_and_delete: return "compact,delete";
            }
            return {};
        case Kind::compression_type:
            return std::string(choice_text(kCompressionChoices, config.compression_type));
        case Kind::timestamp_type:
            return std::string(choice_text(kTimestampChoices, config.message_timestamp_type));
    }
    return {};
}

const KeySpec* find_key(std::string_view name) {
    const auto it = std::ranges::find(kKeys, name, &KeySpec::name);
    return it == kKeys.end() ? nullptr : &*it;
}

Status unknown_key(std::string_view name) {
    std::string known;
    for (const KeySpec& spec : kKeys) {
        if (!known.empty()) known += ", ";
        known += spec.name;
    }
    return Status::invalid_argument(
        fmt::format("unknown topic config '{}'; known configs: {}", name, known));
}

// Applies every setting of one layer to `config`, in key order.
Status apply_layer(const Config& settings, TopicConfig& config) {
    for (const auto& [name, value] : settings) {
        const KeySpec* spec = find_key(name);
        if (spec == nullptr) return unknown_key(name);
        BROOK_RETURN_IF_ERROR(apply(*spec, value, config));
    }
    return Status::ok();
}

}  // namespace

const std::vector<ConfigKeyInfo>& topic_config_keys() {
    static const std::vector<ConfigKeyInfo> keys = [] {
        const TopicConfig defaults;
        std::vector<ConfigKeyInfo> out;
        out.reserve(kKeys.size());
        for (const KeySpec& spec : kKeys) {
            out.push_back({.name = std::string(spec.name),
                           .type = std::string(type_name(spec.kind)),
                           .default_value = format_value(spec, defaults),
                           .valid_values = accepted(spec),
                           .description = std::string(spec.description)});
        }
        return out;
    }();
    return keys;
}

Status validate_topic_config(const Config& settings) {
    TopicConfig scratch;
    return apply_layer(settings, scratch);
}

Result<TopicConfig> resolve_topic_config(const Config& store_defaults,
                                         const Config& topic_overrides,
                                         std::vector<ConfigEntry>* entries) {
    TopicConfig config;
    if (Status status = apply_layer(store_defaults, config); !status.is_ok()) {
        return Status::invalid_argument("in the store's topic_defaults: " + status.message());
    }
    BROOK_RETURN_IF_ERROR(apply_layer(topic_overrides, config));
    if (entries != nullptr) {
        entries->clear();
        entries->reserve(kKeys.size());
        for (const KeySpec& spec : kKeys) {
            const std::string name(spec.name);
            ConfigSource source = ConfigSource::default_value;
            if (topic_overrides.contains(name)) {
                source = ConfigSource::topic;
            } else if (store_defaults.contains(name)) {
                source = ConfigSource::store;
            }
            entries->push_back({name, format_value(spec, config), source});
        }
    }
    return config;
}

Result<std::string> canonical_value(std::string_view name, std::string_view value) {
    const KeySpec* spec = find_key(name);
    if (spec == nullptr) return unknown_key(name);
    TopicConfig scratch;
    BROOK_RETURN_IF_ERROR(apply(*spec, value, scratch));
    return format_value(*spec, scratch);
}

log::LogConfig to_log_config(const TopicConfig& config) {
    log::LogConfig out;
    out.segment_bytes = config.segment_bytes;
    out.segment_ms = config.segment_ms;
    out.segment_index_bytes = config.segment_index_bytes;
    out.index_interval_bytes = config.index_interval_bytes;
    out.max_message_bytes = config.max_message_bytes;
    out.flush_messages = config.flush_messages;
    out.flush_ms = config.flush_ms;
    out.message_timestamp_type = config.message_timestamp_type;
    return out;
}

}  // namespace brook::store

#include "client/producer_config.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>
#include <system_error>

namespace brook::client {
namespace {

constexpr std::string_view kKnownKeys =
    "acks, batch.size, buffer.memory, client.id, compression.type, delivery.timeout.ms, "
    "enable.idempotence, linger.ms, max.block.ms, partitioner, transaction.timeout.ms, "
    "transactional.id";

Status bad_value(std::string_view key, std::string_view value, std::string_view accepted) {
    return Status::invalid_argument(
        fmt::format("invalid producer config {} = '{}': expected {}", key, value, accepted));
}

// Parses the whole of `value` as a decimal Int no smaller than `min`.
template <typename Int = std::int32_t>
Result<Int> parse_int(std::string_view key, std::string_view value, Int min) {
    const std::string accepted =
        fmt::format("an integer from {} to {}", min, std::numeric_limits<Int>::max());
    Int parsed = 0;
    const char* end = value.data() + value.size();
    const auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
    if (value.empty() || ec != std::errc() || ptr != end || parsed < min) {
        return bad_value(key, value, accepted);
    }
    return parsed;
}

Status apply(ProducerConfig& out, const std::string& key, const std::string& value) {
    if (key == "acks") {
        if (value == "all" || value == "-1") {
            out.durable = true;
        } else if (value == "0" || value == "1") {
            out.durable = false;
        } else {
            return bad_value(key, value, "one of 0, 1, all, -1");
        }
    } else if (key == "linger.ms") {
        BROOK_ASSIGN_OR_RETURN(const std::int32_t ms, parse_int(key, value, 0));
        out.linger = std::chrono::milliseconds(ms);
    } else if (key == "batch.size") {
        BROOK_ASSIGN_OR_RETURN(const std::int32_t bytes, parse_int(key, value, 1));
        out.batch_size = static_cast<std::size_t>(bytes);
    } else if (key == "buffer.memory") {
        BROOK_ASSIGN_OR_RETURN(const std::int64_t bytes, parse_int<std::int64_t>(key, value, 1));
        out.buffer_memory = static_cast<std::size_t>(bytes);
    } else if (key == "max.block.ms") {
        BROOK_ASSIGN_OR_RETURN(const std::int64_t ms, parse_int<std::int64_t>(key, value, 0));
        out.max_block = std::chrono::milliseconds(ms);
    } else if (key == "compression.type") {
        if (value == "none") {
            out.compression = log::Compression::none;
        } else if (value == "zstd") {
            out.compression = log::Compression::zstd;
        } else {
            return bad_value(key, value, "none or zstd (brook supports no other codec)");
        }
    } else if (key == "partitioner") {
        BROOK_ASSIGN_OR_RETURN(out.partitioner, parse_partitioner(value));
    } else if (key == "delivery.timeout.ms") {
        BROOK_ASSIGN_OR_RETURN(const std::int32_t ms, parse_int(key, value, 1));
        out.delivery_timeout = std::chrono::milliseconds(ms);
    } else if (key == "client.id") {
        out.client_id = value;
    } else if (key == "enable.idempotence") {
        if (value != "true" && value != "false") return bad_value(key, value, "true or false");
        out.idempotent = value == "true";
    } else if (key == "transactional.id") {
        if (value.empty()) return bad_value(key, value, "a non-empty id");
        out.transactional_id = value;
    } else if (key == "transaction.timeout.ms") {
        BROOK_ASSIGN_OR_RETURN(out.transaction_timeout_ms, parse_int(key, value, 1));
    } else {
        return Status::invalid_argument(
            fmt::format("unknown producer config key '{}'; known keys: {}", key, kKnownKeys));
    }
    return Status::ok();
}

}  // namespace

Result<ProducerConfig> parse_producer_config(const Config& config) {
    ProducerConfig out;
    for (const auto& [key, value] : config) BROOK_RETURN_IF_ERROR(apply(out, key, value));
    if (out.delivery_timeout < out.linger) {
        return Status::invalid_argument(fmt::format(
            "invalid producer config: delivery.timeout.ms = {} is below linger.ms = {}; a "
            "batch may linger that long, so delivery.timeout.ms must be at least linger.ms",
            out.delivery_timeout.count(), out.linger.count()));
    }
    if (out.buffer_memory < out.batch_size) {
        return Status::invalid_argument(fmt::format(
            "invalid producer config: buffer.memory = {} is below batch.size = {}; every batch "
            "takes batch.size bytes of buffer.memory when it opens, so raise buffer.memory or "
            "lower batch.size",
            out.buffer_memory, out.batch_size));
    }
    if (out.transactional_id && !out.idempotent) {
        return Status::invalid_argument(
            "invalid producer config: transactional.id needs enable.idempotence = true; remove "
            "enable.idempotence = false");
    }
    return out;
}

}  // namespace brook::client

#include "client/consumer_config.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <string_view>
#include <system_error>

namespace brook::client {
namespace {

constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

// Parses a whole decimal integer within [min, kInt32Max].
Result<std::int32_t> parse_int(std::string_view key, std::string_view text, std::int64_t min) {
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < min || value > kInt32Max) {
        return Status::invalid_argument(fmt::format(
            "consumer config {} = '{}' is invalid; it must be an integer between {} and {}", key,
            text, min, kInt32Max));
    }
    return static_cast<std::int32_t>(value);
}

Result<bool> parse_bool(std::string_view key, std::string_view text) {
    if (text == "true") return true;
    if (text == "false") return false;
    return Status::invalid_argument(
        fmt::format("consumer config {} = '{}' is invalid; it must be true or false", key, text));
}

Result<OffsetReset> parse_offset_reset(std::string_view text) {
    if (text == "earliest" || text == "smallest" || text == "beginning") {
        return OffsetReset::earliest;
    }
    if (text == "latest" || text == "largest" || text == "end") return OffsetReset::latest;
    if (text == "none") return OffsetReset::none;
    return Status::invalid_argument(
        fmt::format("consumer config auto.offset.reset = '{}' is invalid; it must be earliest "
                    "(or smallest, beginning), latest (or largest, end) or none",
                    text));
}

}  // namespace

Result<ConsumerConfig> parse_consumer_config(const Config& config) {
    ConsumerConfig out;
    out.group.member.strategies = {group::Strategy::range, group::Strategy::cooperative_sticky};
    for (const auto& [key, value] : config) {
        if (key == "auto.offset.reset") {
            BROOK_ASSIGN_OR_RETURN(out.auto_offset_reset, parse_offset_reset(value));
        } else if (key == "fetch.wait.max.ms") {
            BROOK_ASSIGN_OR_RETURN(const std::int32_t ms, parse_int(key, value, 0));
            out.fetch_wait_max = std::chrono::milliseconds(ms);
        } else if (key == "max.partition.fetch.bytes") {
            BROOK_ASSIGN_OR_RETURN(out.max_partition_fetch_bytes, parse_int(key, value, 1));
        } else if (key == "enable.read.ahead") {
            BROOK_ASSIGN_OR_RETURN(out.read_ahead, parse_bool(key, value));
        } else if (key == "client.id") {
            out.client_id = value;
            out.group.member.client_id = value;
        } else if (key == "group.id") {
            if (!value.empty()) BROOK_RETURN_IF_ERROR(group::validate_group_id(value));
            out.group_id = value;
        } else if (key == "group.instance.id") {
            if (!value.empty()) out.group.member.instance_id = value;
        } else if (key == "partition.assignment.strategy") {
            BROOK_ASSIGN_OR_RETURN(out.group.member.strategies, group::parse_strategies(value));
        } else if (key == "enable.auto.commit") {
            BROOK_ASSIGN_OR_RETURN(out.group.enable_auto_commit, parse_bool(key, value));
        } else if (key == "auto.commit.interval.ms") {
            BROOK_ASSIGN_OR_RETURN(out.group.auto_commit_interval_ms, parse_int(key, value, 0));
        } else if (key == "max.poll.interval.ms") {
            BROOK_ASSIGN_OR_RETURN(out.group.member.max_poll_interval_ms, parse_int(key, value, 1));
        } else if (key == "session.timeout.ms") {
            BROOK_ASSIGN_OR_RETURN(out.group.member.session_timeout_ms, parse_int(key, value, 1));
        } else if (key == "isolation.level") {
            if (value == "read_uncommitted") {
                out.isolation = IsolationLevel::read_uncommitted;
            } else if (value == "read_committed") {
                out.isolation = IsolationLevel::read_committed;
            } else {
                return Status::invalid_argument(fmt::format(
                    "invalid consumer config isolation.level = '{}': expected read_uncommitted "
                    "or read_committed",
                    value));
            }
        } else {
            return Status::invalid_argument(fmt::format(
                "unknown consumer config key '{}'; the keys are auto.commit.interval.ms, "
                "auto.offset.reset, client.id, enable.auto.commit, enable.read.ahead, "
                "fetch.wait.max.ms, group.id, "
                "group.instance.id, isolation.level, max.partition.fetch.bytes, "
                "max.poll.interval.ms, partition.assignment.strategy and session.timeout.ms",
                key));
        }
    }
    if (out.group_id.empty() && out.group.member.instance_id) {
        return Status::invalid_argument(
            "consumer config group.instance.id needs group.id: a static member belongs to a group");
    }
    return out;
}

}  // namespace brook::client

#include "log/log_config.hpp"

#include <fmt/format.h>

#include "log/format.hpp"

namespace brook::log {
namespace {

Status check_range(const char* name, std::int64_t value, std::int64_t lo, std::int64_t hi) {
    if (value >= lo && value <= hi) return Status::ok();
    return Status::invalid_argument(
        fmt::format("{} = {} is out of range; it must be between {} and {}", name, value, lo, hi));
}

}  // namespace

Status LogConfig::validate() const {
    constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
    constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
    const std::int64_t min_index_bytes =
        static_cast<std::int64_t>(format::kIndexHeaderSize + 2 * format::kTimeIndexEntrySize);
    BROOK_RETURN_IF_ERROR(check_range("segment.bytes", segment_bytes, 14, kInt32Max));
    BROOK_RETURN_IF_ERROR(check_range("segment.ms", segment_ms, 1, kInt64Max));
    BROOK_RETURN_IF_ERROR(
        check_range("segment.index.bytes", segment_index_bytes, min_index_bytes, kInt32Max));
    BROOK_RETURN_IF_ERROR(check_range("index.interval.bytes", index_interval_bytes, 0, kInt32Max));
    BROOK_RETURN_IF_ERROR(check_range("max.message.bytes", max_message_bytes,
                                      static_cast<std::int64_t>(format::kBatchHeaderSize),
                                      format::kMaxBatchBytes));
    BROOK_RETURN_IF_ERROR(check_range("flush.messages", flush_messages, 1, kInt64Max));
    BROOK_RETURN_IF_ERROR(check_range("flush.ms", flush_ms, 0, kInt64Max));
    BROOK_RETURN_IF_ERROR(
        check_range("producer.id.expiration.ms", producer_id_expiration_ms, 1, kInt64Max));
    return Status::ok();
}

}  // namespace brook::log

#include "cleaner/retention.hpp"

#include <algorithm>

namespace brook::cleaner {
namespace {

bool past_retention(const log::SegmentInfo& segment, const RetentionConfig& config,
                    std::int64_t now_ms) {
    if (config.retention_ms < 0) return false;
    // An empty sealed segment (compaction can leave one) holds nothing to keep.
    return !segment.max_timestamp || now_ms - *segment.max_timestamp > config.retention_ms;
}

}  // namespace

Result<RetentionResult> apply_retention(log::PartitionLog& log, const RetentionConfig& config,
                                        std::int64_t now_ms) {
    const auto before = log.segments();
    const bool active_expired =
        before.back().size_bytes > 0 && past_retention(before.back(), config, now_ms);
    BROOK_RETURN_IF_ERROR(log.roll_if_due(active_expired).status());

    const auto segments = log.segments();
    const std::size_t sealed = segments.size() - 1;
    std::size_t by_time = 0;
    while (by_time < sealed && past_retention(segments[by_time], config, now_ms)) ++by_time;
    std::size_t by_size = 0;
    if (config.retention_bytes >= 0) {
        std::uint64_t total = 0;
        for (const auto& s : segments) total += s.size_bytes;
        const auto limit = static_cast<std::uint64_t>(config.retention_bytes);
        while (by_size < sealed && total - segments[by_size].size_bytes >= limit) {
            total -= segments[by_size].size_bytes;
            ++by_size;
        }
    }
    const std::size_t count = std::max(by_time, by_size);
    RetentionResult result;
    if (count == 0) return result;
    BROOK_ASSIGN_OR_RETURN(result.bytes_deleted,
                           log.advance_log_start(segments[count].base_offset));
    result.segments_deleted = count;
    return result;
}

}  // namespace brook::cleaner

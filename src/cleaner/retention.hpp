// Retention of one partition log: deleting whole old segments by time and by size.
//
// As in Kafka, for a topic whose cleanup.policy contains "delete":
//   - the active segment rolls first if segment.ms has elapsed, or if it holds data and all of
//     it is past retention.ms (so an idle log can empty out);
//   - retention.ms deletes a sealed segment once now minus its largest timestamp exceeds it;
//   - retention.bytes deletes the oldest sealed segments while the partition would stay at or
//     above the limit without them;
//   - deletion goes from the oldest segment and stops at the first it may not delete; the
//     active segment is never deleted. The log start offset advances to the first kept
//     segment (durably) before any file is removed.
// A limit of -1 turns that check off.
//
// Thread safety: one call per partition at a time (the caller holds the partition's cleaner
// lock); appends and reads go on meanwhile.
#pragma once

#include <brook/status.hpp>
#include <cstdint>

#include "log/partition_log.hpp"

namespace brook::cleaner {

struct RetentionConfig {
    std::int64_t retention_ms = 7LL * 24 * 60 * 60 * 1000;  // retention.ms
    std::int64_t retention_bytes = -1;                      // retention.bytes
};

struct RetentionResult {
    std::uint64_t segments_deleted = 0;
    std::uint64_t bytes_deleted = 0;
};

// @return the log's errors (see PartitionLog::roll_if_due and advance_log_start).
Result<RetentionResult> apply_retention(log::PartitionLog& log, const RetentionConfig& config,
                                        std::int64_t now_ms);

}  // namespace brook::cleaner

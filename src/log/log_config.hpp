// LogConfig: the per-partition settings the log engine obeys.
//
// Field names follow Kafka's topic configs and their defaults (segment.bytes, segment.ms,
// segment.index.bytes, index.interval.bytes, max.message.bytes, flush.messages, flush.ms,
// message.timestamp.type). The store (a later layer) maps topic configs onto this struct;
// the log only reads it. A value of this type is immutable once handed to a PartitionLog,
// except through PartitionLog::set_config.
#pragma once

#include <brook/status.hpp>
#include <cstdint>
#include <limits>

#include "log/record_batch.hpp"

namespace brook::log {

struct LogConfig {
    // segment.bytes: roll when the active segment would grow past this. Kafka's range: at least
    // 14, at most 2^31 - 1 (positions in the offset index are 32-bit).
    std::int64_t segment_bytes = 1024 * 1024 * 1024;
    // segment.ms: roll when the active segment's first batch is older than this.
    std::int64_t segment_ms = 7LL * 24 * 60 * 60 * 1000;
    // segment.index.bytes: preallocated size of each index file.
    std::int64_t segment_index_bytes = 10 * 1024 * 1024;
    // index.interval.bytes: bytes of log between offset index entries.
    std::int64_t index_interval_bytes = 4096;
    // max.message.bytes: the largest batch, after compression, the log accepts. Kafka's default.
    std::int64_t max_message_bytes = 1024 * 1024 + 12;
    // flush.messages / flush.ms: fsync after this many messages or this long since the last
    // fsync. Kafka's defaults leave flushing to the operating system.
    std::int64_t flush_messages = std::numeric_limits<std::int64_t>::max();
    std::int64_t flush_ms = std::numeric_limits<std::int64_t>::max();
    // message.timestamp.type: CreateTime keeps the producer's timestamps; LogAppendTime
    // stamps each batch with the log's clock on append.
    TimestampType message_timestamp_type = TimestampType::create_time;
    // producer.id.expiration.ms (a broker setting in Kafka, same default): at each roll and
    // close, a producer without an open transaction whose last batch's timestamp is older than
    // this is forgotten. A later batch of it is then taken as a new producer's, at any
    // sequence, so duplicate detection for it ends, as in Kafka.
    std::int64_t producer_id_expiration_ms = 24LL * 60 * 60 * 1000;

    // @return invalid_argument naming the first setting that is out of range, and its range.
    Status validate() const;
};

}  // namespace brook::log

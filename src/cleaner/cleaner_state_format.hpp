// The on-disk format of the cleaner's per-partition progress: one key space in the metadata
// store, as Kafka keeps cleaner-offset-checkpoint.
//
// PERSISTENT FORMAT, NEVER RENUMBER. Every value here is written to disk. Changing one makes
// existing stores unreadable; add new values instead, and bump the version where the layout
// changes. docs/format.md ("Cleaner progress") describes the same layout in prose and must be
// kept in step.
//
// Space. The progress lives in the metadata store's "state" database (meta/format.hpp) under
// the key space kCleanerSpace. Within it:
//
//   key    the topic id (meta::TopicRecord::topic_id, never reused) as a u64 big-endian, then
//          the partition as a u32 big-endian.
//   value  a progress record, below. All its integers are little-endian.
//
//   offset 0   u8   version, 1
//   offset 1   i64  the first dirty offset: every offset below it was compacted by a pass
//   offset 9   i64  when the earliest tombstone kept by the last pass may go (ms), or -1
//   offset 17  u32  n, the number of seen ranges (at most kMaxSeenRanges)
//   offset 21  n x  a seen range: i64 end offset, i64 time (ms) of the pass that first saw
//                   every offset below that end (ascending in both)
//   then       u64  XXH3-64 (seed 0) of every byte before it
//
// A record whose size or checksum does not match is corrupt; a record with a good checksum and
// an unknown version was written by a newer brook.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace brook::cleaner::format {

inline constexpr std::string_view kCleanerSpace = "cleaner";
inline constexpr std::size_t kTopicIdKeySize = 8;    // u64 big-endian
inline constexpr std::size_t kPartitionKeySize = 4;  // u32 big-endian

inline constexpr std::uint8_t kProgressV1 = 1;
inline constexpr std::size_t kHeaderSize = 21;
inline constexpr std::size_t kSeenRangeSize = 16;
inline constexpr std::size_t kChecksumSize = 8;
inline constexpr std::uint32_t kMaxSeenRanges = 64;
inline constexpr std::int64_t kNoTombstonesDue = -1;

}  // namespace brook::cleaner::format

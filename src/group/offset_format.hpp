// The on-disk format of consumer group offsets: one key space in the metadata store.
//
// PERSISTENT FORMAT, NEVER RENUMBER. Every value here is written to disk. Changing one makes
// existing stores unreadable; add new values instead, and bump the version where the layout
// changes. docs/format.md ("Consumer group offsets") describes the same layout in prose and
// must be kept in step.
//
// Space. Committed offsets live in the metadata store's "state" database (meta/format.hpp)
// under the key space kOffsetsSpace. Within it:
//
//   key    the group id (1 to kMaxGroupIdBytes bytes, no 0x00), one 0x00 byte, the topic name
//          (1 to 249 bytes, Kafka's topic name characters), one 0x00 byte, then the partition
//          as a u32 big-endian, so that a group's partitions sort by topic, then by number.
//   value  an offset record, below. All its integers are little-endian.
//
//   offset 0   u8   version, 1
//   offset 1   i64  the committed offset: the next offset the group will read, as in Kafka
//   offset 9   i64  commit time, milliseconds since the Unix epoch, from the store's clock
//   offset 17  u64  XXH3-64 (seed 0) of bytes 0 to 16
//
// A record whose size or checksum does not match is corrupt. A record with a good checksum and
// an unknown version was written by a newer brook.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace brook::group::format {

inline constexpr std::string_view kOffsetsSpace = "group_offsets";

// Ends the group id and the topic name in a key.
inline constexpr char kKeySeparator = '\0';
inline constexpr std::size_t kPartitionKeySize = 4;  // u32 big-endian

// Keeps every key, with its space prefix, within LMDB's 511-byte key limit.
inline constexpr std::size_t kMaxGroupIdBytes = 200;

inline constexpr std::uint8_t kOffsetRecordV1 = 1;
inline constexpr std::size_t kVersionPos = 0;     // u8
inline constexpr std::size_t kOffsetPos = 1;      // i64
inline constexpr std::size_t kCommitTimePos = 9;  // i64
inline constexpr std::size_t kChecksumPos = 17;   // u64
inline constexpr std::size_t kOffsetRecordSize = 25;

}  // namespace brook::group::format

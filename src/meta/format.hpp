// The on-disk format of the metadata store: one LMDB environment per store.
//
// PERSISTENT FORMAT, NEVER RENUMBER. Every value here is written to disk. Changing one makes
// existing stores unreadable; add new values instead, and bump a version where a layout
// changes. docs/format.md describes the same layout in prose and must be kept in step.
//
// Files. The metadata directory holds LMDB's own two files, data.mdb (the B-trees) and
// lock.mdb (the reader table; it holds no data and may be deleted while nothing has the
// environment open). Commits use LMDB's default durability: each write transaction is
// fsynced before the call returns.
//
// Databases. The environment holds three named LMDB databases (DBIs), all with LMDB's default
// key order (bytewise, as memcmp, a shorter key before its extensions). The first read-write
// open creates all three in one transaction, so a reader sees either none or all of them.
//
//   "topics"    key:   the topic name, 1 to 511 bytes, no terminator.
//               value: a topic record, below.
//   "state"     key:   the key space name, one 0x00 byte, then the caller's key. A space name
//                      is not empty and contains no 0x00 byte, so the first 0x00 ends it, and
//                      each space's keys form one contiguous run in key order. The whole LMDB
//                      key is at most 511 bytes.
//               value: the caller's bytes, unchanged.
//   "counters"  key:   the counter's name. "topic_id" is the last topic id handed out.
//               value: u64, 8 bytes. An absent counter reads as 0, so the first id is 1.
//
// Topic record, version 1. All integers are little-endian.
//
//   offset 0    u8   version, 1
//   offset 1    u64  topic_id: unique per creation, never reused
//   offset 9    i32  partition count
//   offset 13   u32  n: the number of topic-level config overrides
//   offset 17   n times: u32 key length, key bytes, u32 value length, value bytes; keys are
//               strictly increasing bytewise
//   last 8      u64  XXH3-64 (seed 0) of every byte before it
//
// A record whose length, checksum or structure does not match is corrupt. A record with a
// correct checksum and an unknown version was written by a newer brook.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace brook::meta::format {

// ---- Environment ------------------------------------------------------------------------
inline constexpr std::string_view kDataFile = "data.mdb";  // named by LMDB
inline constexpr std::string_view kLockFile = "lock.mdb";  // named by LMDB

// ---- Databases --------------------------------------------------------------------------
inline constexpr const char* kTopicsDb = "topics";
inline constexpr const char* kStateDb = "state";
inline constexpr const char* kCountersDb = "counters";
inline constexpr unsigned kDatabaseCount = 3;

// The longest LMDB key, in bytes: LMDB's compiled-in default, and the limit for topic names
// and for a state key with its space prefix.
inline constexpr std::size_t kMaxKeyBytes = 511;

// Ends the space name in a "state" key.
inline constexpr char kSpaceSeparator = '\0';

// Counter names in "counters", and the size of a counter value.
inline constexpr std::string_view kTopicIdCounter = "topic_id";
inline constexpr std::size_t kCounterSize = 8;

// ---- State keys of the store layer ------------------------------------------------------
// Written (value "1") when a store is first opened, so that an emptied or replaced meta file
// is told apart from a new store: topics/ holding partitions without it is corruption.
inline constexpr std::string_view kStoreSpace = "store";
inline constexpr std::string_view kStoreCreatedKey = "created";

// ---- Topic record -----------------------------------------------------------------------
inline constexpr std::uint8_t kTopicRecordV1 = 1;
inline constexpr std::uint8_t kCurrentTopicRecordVersion = kTopicRecordV1;

inline constexpr std::size_t kVersionPos = 0;         // u8
inline constexpr std::size_t kTopicIdPos = 1;         // u64
inline constexpr std::size_t kPartitionsPos = 9;      // i32
inline constexpr std::size_t kOverrideCountPos = 13;  // u32
inline constexpr std::size_t kOverridesPos = 17;      // the overrides start here
inline constexpr std::size_t kLengthSize = 4;         // u32 before each override string
inline constexpr std::size_t kChecksumSize = 8;       // u64 at the end of the record
inline constexpr std::size_t kMinTopicRecordSize = kOverridesPos + kChecksumSize;

}  // namespace brook::meta::format

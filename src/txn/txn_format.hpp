// The on-disk format of producer ids and transactional ids: one key space in the metadata
// store.
//
// PERSISTENT FORMAT, NEVER RENUMBER. Every value here is written to disk. Changing one makes
// existing stores unreadable; add new values instead, and bump the version where a layout
// changes. docs/format.md (section 12, "Producer ids and transaction coordinator state")
// describes the same layout in prose and must be kept in step.
//
// Space. Everything lives in the metadata store's "state" database (meta/format.hpp) under
// the key space kTxnSpace. Within it:
//
//   kProducerIdBlockKey   value: i64 little-endian, the first producer id not yet handed out
//                         in any block. The store reserves ids kProducerIdBlockSize at a time
//                         (as Kafka's coordinators do), so a reopened store never reuses one.
//   "t" 0x00 <id>         value: the transaction record of transactional.id <id> (1 to
//                         kMaxTransactionalIdBytes bytes, no 0x00), below.
//
// Transaction record, version 1. All integers are little-endian; a string is a u16 length
// followed by its bytes.
//
//   u8   version, 1
//   i64  producer id
//   i16  producer epoch
//   u8   state (TxnState below)
//   i32  transaction.timeout.ms
//   i64  start time of the transaction in progress, ms on the store's clock (-1 when empty)
//   u32  n partitions; n times: string topic, i32 partition
//   u32  g groups with pending offsets; g times: string group id, u32 m, m times: string
//        topic, i32 partition, i64 offset
//   u64  XXH3-64 (seed 0) of every byte before it
//
// A record whose checksum, length or structure does not match is corrupt; a record with a
// good checksum and an unknown version was written by a newer brook.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace brook::txn::format {

inline constexpr std::string_view kTxnSpace = "txn";
inline constexpr std::string_view kProducerIdBlockKey = "producer_id_block";
inline constexpr std::string_view kTransactionalIdPrefix = "t";
inline constexpr char kKeySeparator = '\0';

inline constexpr std::int64_t kProducerIdBlockSize = 1000;
// Keeps every key within LMDB's 511-byte limit with room to spare.
inline constexpr std::size_t kMaxTransactionalIdBytes = 249;

inline constexpr std::uint8_t kTxnRecordV1 = 1;

// Transaction states, as Kafka's coordinator names them.
enum class TxnState : std::uint8_t {
    empty = 0,           // no transaction in progress
    ongoing = 1,         // a transaction in progress (kept in memory only; see coordinator.hpp)
    prepare_commit = 2,  // the commit is decided: markers and offsets are being written
    prepare_abort = 3,   // the abort is decided: markers are being written
};
inline constexpr std::uint8_t kMaxTxnState = 3;

inline constexpr std::size_t kChecksumSize = 8;

}  // namespace brook::txn::format

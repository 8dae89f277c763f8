// The on-disk format of a partition log: segment files, batches, indexes and checkpoints.
//
// PERSISTENT FORMAT, NEVER RENUMBER. Every value here is written to disk. Changing one makes
// existing stores unreadable; add new values instead, and bump a version where the layout
// changes. docs/format.md describes the same layout in prose and must be kept in step.
//
// All integers are little-endian. Offsets are signed 64-bit, as in Kafka.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace brook::log::format {

// ---- File names -------------------------------------------------------------------------
// A segment is named by its base offset, zero-padded to 20 digits: 00000000000000000042.log
inline constexpr int kSegmentNameDigits = 20;
inline constexpr std::string_view kLogSuffix = ".log";
inline constexpr std::string_view kOffsetIndexSuffix = ".index";
inline constexpr std::string_view kTimeIndexSuffix = ".timeindex";
// Aborted-transaction index of a segment (Kafka's name); absent while the segment has none.
inline constexpr std::string_view kTxnIndexSuffix = ".txnindex";
// Producer-state snapshot, named by the offset it was taken at (Kafka's name).
inline constexpr std::string_view kSnapshotSuffix = ".snapshot";
// Temporary files carry this suffix until renamed into place; recovery deletes leftovers.
inline constexpr std::string_view kTempSuffix = ".tmp";
// Per-partition checkpoint files.
inline constexpr std::string_view kRecoveryPointFile = "recovery-point";
inline constexpr std::string_view kCleanShutdownFile = "clean-shutdown";
// The log start offset, raised by retention and delete_records before files are removed.
inline constexpr std::string_view kLogStartOffsetFile = "log-start-offset";
// Compaction swaps one cleaned segment in at a time through a staging directory: it is built
// in kCleanedDir, committed by renaming that directory to kSwapDir (holding a kSwapManifestFile),
// then its files are renamed to their final names. See docs/format.md, "Compaction swap".
inline constexpr std::string_view kCleanedDir = "cleaner.cleaned";
inline constexpr std::string_view kSwapDir = "cleaner.swap";
inline constexpr std::string_view kSwapManifestFile = "swap-manifest";

// ---- Record batch header ----------------------------------------------------------------
// A batch is a fixed 61-byte header followed by its records. The checksum covers every byte
// after the checksum field (from kAttributesPos to the end of the batch). The base offset
// and length sit before it, as in Kafka, so the log can assign offsets without rehashing;
// recovery checks them structurally (lengths in bounds, offsets increasing).
inline constexpr std::size_t kBaseOffsetPos = 0;        // i64 offset of the first record
inline constexpr std::size_t kBatchLengthPos = 8;       // u32 bytes after this field
inline constexpr std::size_t kMagicPos = 12;            // u8  format version of the batch
inline constexpr std::size_t kChecksumPos = 13;         // u64 XXH3-64 of bytes [21, end)
inline constexpr std::size_t kAttributesPos = 21;       // u16 see attribute bits below
inline constexpr std::size_t kLastOffsetDeltaPos = 23;  // u32 last offset - base offset
inline constexpr std::size_t kFirstTimestampPos = 27;   // i64 timestamp of the first record
inline constexpr std::size_t kMaxTimestampPos = 35;     // i64 largest timestamp in the batch
inline constexpr std::size_t kProducerIdPos = 43;       // i64 -1 when not idempotent
inline constexpr std::size_t kProducerEpochPos = 51;    // i16 -1 when not idempotent
inline constexpr std::size_t kBaseSequencePos = 53;     // i32 -1 when not idempotent
inline constexpr std::size_t kRecordCountPos = 57;      // u32 number of records
inline constexpr std::size_t kRecordsPos = 61;          // records start here
inline constexpr std::size_t kBatchHeaderSize = 61;
// The bytes counted by the length field start after it.
inline constexpr std::size_t kBatchLengthOverhead = kBatchLengthPos + 4;

inline constexpr std::uint8_t kMagicV1 = 1;
inline constexpr std::uint8_t kCurrentMagic = kMagicV1;

// Attribute bits.
inline constexpr std::uint16_t kCompressionMask = 0x0007;   // codec id, below
inline constexpr std::uint16_t kTimestampTypeBit = 0x0008;  // 0 CreateTime, 1 LogAppendTime
inline constexpr std::uint16_t kTransactionalBit = 0x0010;  // part of a transaction
inline constexpr std::uint16_t kControlBit = 0x0020;        // a control batch (a marker)
inline constexpr std::uint16_t kKnownAttributeBits = 0x003f;

// Compression codec ids (attribute bits 0-2), numbered as in Kafka.
inline constexpr std::uint16_t kCodecNone = 0;
inline constexpr std::uint16_t kCodecZstd = 4;

// Hard ceiling on one batch's size on disk, whatever max.message.bytes says. A length field
// above it is corrupt by definition; no buffer is ever sized from a length above it.
inline constexpr std::uint32_t kMaxBatchBytes = 64u << 20;
// Hard ceiling on the records in one batch.
inline constexpr std::uint32_t kMaxRecordsPerBatch = 1u << 24;

// ---- Records (inside a batch, after decompression) ---------------------------------------
// Each record uses Kafka's v2 record encoding with zig-zag varints:
//   varint length (of the rest of the record)    i8 attributes (0)
//   varlong timestamp delta (from first_timestamp) varint offset delta (from base offset)
//   varint key length (-1 = null key)   key bytes
//   varint value length (-1 = null value, a tombstone)   value bytes
//   varint header count, then per header: varint key length, key, varint value length
//   (-1 = null), value.

// ---- Idempotence and transactions --------------------------------------------------------
// An idempotent batch carries producer id >= 0, its epoch and the sequence of its first record;
// its last record's sequence is base sequence + last offset delta, wrapping from INT32_MAX to 0.
// A control batch (kControlBit | kTransactionalBit) ends a transaction. It holds one record:
//   key   = i16 version (kControlRecordVersion), i16 type (kControlAbort or kControlCommit)
//   value = i16 version (kControlRecordVersion), i32 coordinator epoch
// Both are big-endian, as in Kafka's end-transaction marker. Its base sequence is -1.
inline constexpr std::int16_t kControlRecordVersion = 0;
inline constexpr std::int16_t kControlAbort = 0;
inline constexpr std::int16_t kControlCommit = 1;
inline constexpr std::size_t kControlKeySize = 4;
inline constexpr std::size_t kControlValueSize = 6;
// The producer state keeps this many of a producer's latest batches for duplicate detection.
inline constexpr std::size_t kProducerBatchesKept = 5;

// ---- Aborted-transaction index (.txnindex) -------------------------------------------------
// Entries back to back, no header; one per aborted transaction whose abort marker is in the
// segment, in marker order:
//   0 i64 producer id   8 i64 first offset   16 i64 last offset (the marker's)
//   24 i64 last stable offset when the marker was written   32 u64 XXH3-64 of bytes [0, 32)
inline constexpr std::size_t kTxnIndexEntrySize = 40;
// A .txnindex above this size is damaged by definition (its segment cannot hold that many abort
// markers); it is rebuilt from the log instead of being read.
inline constexpr std::uint64_t kMaxTxnIndexBytes = 64u << 20;

// ---- Producer-state snapshot (<offset>.snapshot) -------------------------------------------
// The state after every batch below <offset>:
//   0 u32 magic   4 u16 version   6 u16 reserved (0)   8 i64 offset   16 u32 producer count
//   20 producers, each:
//     0 i64 producer id   8 i16 epoch   10 i64 timestamp of its last batch
//     18 i64 first offset of its open transaction, -1 if none   26 u8 batch count (<= 5)
//     27 batches, oldest first, each: i32 first sequence, i32 last sequence,
//        i64 first offset, i64 last offset (24 bytes)
//   then u64 XXH3-64 of every byte before it.
inline constexpr std::uint32_t kSnapshotMagic = 0x50534e53;  // "SNSP"
inline constexpr std::uint16_t kSnapshotVersion = 1;
inline constexpr std::size_t kSnapshotHeaderSize = 20;
inline constexpr std::size_t kSnapshotProducerSize = 27;
inline constexpr std::size_t kSnapshotBatchSize = 24;
// A snapshot above this size is corrupt by definition (about 500,000 producers).
inline constexpr std::uint64_t kMaxSnapshotBytes = 64u << 20;

// ---- Offset index (.index) ---------------------------------------------------------------
// A 32-byte header, then fixed-size entries. Entry: u32 offset relative to the segment's
// base offset (of a batch's first record), u32 byte position of that batch in the .log file.
inline constexpr std::uint32_t kOffsetIndexMagic = 0x58444942;  // "BIDX"
inline constexpr std::size_t kOffsetIndexEntrySize = 8;
// ---- Time index (.timeindex) -------------------------------------------------------------
// A 32-byte header, then entries: i64 max timestamp seen so far in the segment, u32 offset
// relative to the base offset of the batch where that maximum was reached.
inline constexpr std::uint32_t kTimeIndexMagic = 0x58444954;  // "TIDX"
inline constexpr std::size_t kTimeIndexEntrySize = 12;
// Index header, shared by both index kinds:
//   0 u32 magic   4 u16 version   6 u16 flags (bit 0: sealed)   8 i64 segment base offset
//   16 u32 entry count (valid when sealed)   20 u32 log bytes: the .log size at seal (offset
//   index only; 0 = not recorded)   24 u64 XXH3-64 of the entries, XOR XXH3-64 of bytes
//   [16, 24) when log bytes is not 0 (valid when sealed)
inline constexpr std::size_t kIndexHeaderSize = 32;
inline constexpr std::uint16_t kIndexVersion = 1;
inline constexpr std::uint16_t kIndexSealedFlag = 0x0001;

// ---- Checkpoint files ---------------------------------------------------------------------
// recovery-point and clean-shutdown are each 32 bytes:
//   0 u32 magic   4 u32 version (1)   8 i64 offset   16 u64 active segment .log size
//   (clean-shutdown only; 0 in recovery-point)   24 u64 XXH3-64 of bytes [0, 24)
inline constexpr std::uint32_t kRecoveryPointMagic = 0x50434552;  // "RECP"
inline constexpr std::uint32_t kCleanShutdownMagic = 0x4e414c43;  // "CLAN"
// log-start-offset uses the same layout: offset = the log start offset, field 16 = 0.
inline constexpr std::uint32_t kLogStartOffsetMagic = 0x4f54534c;  // "LSTO"
// swap-manifest uses the same layout: offset = the base offset of the cleaned segment (the
// first replaced one), field 16 = the end of the replaced range (the base offset of the first
// segment kept after it).
inline constexpr std::uint32_t kSwapManifestMagic = 0x50415753;  // "SWAP"
inline constexpr std::uint32_t kCheckpointVersion = 1;
inline constexpr std::size_t kCheckpointSize = 32;

}  // namespace brook::log::format

// The aborted-transaction index: a segment's `<base>.txnindex` file.
//
// One fixed-size entry per transaction whose abort marker lies in the segment, each with its
// own checksum (layout in log/format.hpp, docs/format.md). The active segment's file is
// appended to as markers arrive and fsynced with the segment; the file exists only once the
// segment has an entry. Recovery rewrites the files of the range it rescans.
//
// Thread safety: the functions are pure apart from their file I/O; callers serialise writes
// to one file.
#pragma once

#include <array>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "fs/file_system.hpp"
#include "log/producer_state.hpp"

namespace brook::log {

std::array<std::byte, 40> encode_txn_entry(const AbortedTransaction& entry);

struct TxnIndexContents {
    std::vector<AbortedTransaction> entries;  // the valid entries before any damage
    bool damaged = false;  // a partial entry, a checksum mismatch or an impossible entry
};

// Reads `<dir>/<base>.txnindex`; an absent file holds no entries.
// @return io_error from the file system (damage is reported in the contents).
Result<TxnIndexContents> read_txn_index(fs::FileSystem& fs, const std::string& dir, Offset base);

// Atomically replaces `<dir>/<base>.txnindex` with `entries` (an empty file if none).
// @return io_error / no_space.
Status write_txn_index(fs::FileSystem& fs, const std::string& dir, Offset base,
                       const std::vector<AbortedTransaction>& entries);

// Removes `<dir>/<base>.txnindex` if present (without fsyncing the directory).
Status remove_txn_index(fs::FileSystem& fs, const std::string& dir, Offset base);

}  // namespace brook::log

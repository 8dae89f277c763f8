// Producer-state snapshots: the `<offset>.snapshot` files of a partition directory.
//
// A snapshot holds the ProducerStateTable as it stood after every batch below <offset>, so
// open() replays only the batches after the newest usable one. The log writes one at every
// segment roll (at the new segment's base) and at close() (at the log end). A snapshot is a
// whole file with a trailing checksum (layout in log/format.hpp, docs/format.md), written to
// a temporary file, fsynced, renamed into place and its directory fsynced.
//
// Thread safety: the functions are pure apart from their file I/O; callers serialise writes
// to one directory.
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "fs/file_system.hpp"
#include "log/producer_state.hpp"

namespace brook::log {

using ProducerMap = std::map<std::int64_t, ProducerEntry>;

std::vector<std::byte> encode_snapshot(Offset at, const ProducerMap& producers);

// Parses a snapshot. `name` is used in messages.
// @return corruption if the size, magic, version, checksum, a count or the offset
//         (which must equal `at`) is wrong.
Result<ProducerMap> decode_snapshot(std::span<const std::byte> bytes, Offset at,
                                    const std::string& name);

// Atomically writes `<dir>/<at>.snapshot`.
// @return io_error / no_space from the file system (a temporary file may remain; open()
//         removes it).
Status write_snapshot(fs::FileSystem& fs, const std::string& dir, Offset at,
                      const ProducerMap& producers);

// Reads and checks `<dir>/<at>.snapshot`.
// @return corruption as decode_snapshot, also for a file above format::kMaxSnapshotBytes;
//         io_error.
Result<ProducerMap> read_snapshot(fs::FileSystem& fs, const std::string& dir, Offset at);

// The offsets of the snapshot files in `names`, ascending.
std::vector<Offset> snapshot_offsets(const std::vector<std::string>& names);

}  // namespace brook::log

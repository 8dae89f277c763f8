// Checkpoint files of a partition directory: the recovery point, the clean-shutdown marker,
// the log start offset and the compaction swap manifest.
//
// The recovery point is the base offset of the first segment that recovery must validate:
// every segment before it was fsynced and sealed when it rolled. The clean-shutdown marker is
// written by a clean close, holding the log end offset and the active segment's size; its
// presence on open means nothing needs rescanning. Both are tiny fixed-size files with their
// own checksum (layout in log/format.hpp), replaced atomically by write-temp, fsync, rename,
// fsync-directory.
//
// Thread safety: callers serialise writes to one directory's checkpoints (the appender does).
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fs/file_system.hpp"

namespace brook::log {

// log_start_offset holds the partition's log start offset. swap_manifest sits inside the
// compaction swap directory and names the range a cleaned segment replaces.
enum class CheckpointKind { recovery_point, clean_shutdown, log_start_offset, swap_manifest };

struct Checkpoint {
    Offset offset;
    // clean_shutdown: the active segment's .log size; swap_manifest: the end of the replaced
    // range (an offset); 0 otherwise.
    std::uint64_t active_log_size = 0;
};

// Atomically replaces the checkpoint file of `kind` in `dir`.
// @return io_error or no_space from the file system.
Status write_checkpoint(fs::FileSystem& fs, const std::string& dir, CheckpointKind kind,
                        const Checkpoint& checkpoint);

// Reads a checkpoint. nullopt if the file is absent.
// @return corruption if the file exists but fails its size, magic, version or checksum check;
//         io_error from the file system.
Result<std::optional<Checkpoint>> read_checkpoint(fs::FileSystem& fs, const std::string& dir,
                                                  CheckpointKind kind);

// Atomically replaces `<dir>/<name>` with `bytes`: writes a temporary file, fsyncs it, renames
// it into place and fsyncs `dir`. Shared by every small whole-file format of a partition.
// @return io_error or no_space from the file system (a temporary file may remain).
Status replace_file(fs::FileSystem& fs, const std::string& dir, const std::string& name,
                    std::span<const std::byte> bytes);

// Removes a checkpoint file if present and makes the removal durable.
Status remove_checkpoint(fs::FileSystem& fs, const std::string& dir, CheckpointKind kind);

}  // namespace brook::log

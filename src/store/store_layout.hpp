// The layout of a store directory: where the lock, the metadata and the partition logs live.
//
// PERSISTENT FORMAT, NEVER RENAME. A store directory holds
//   LOCK                        the writer lock (holds the writer's pid)
//   meta/                       the LMDB metadata environment
//   topics/<topic>-<partition>/ one partition log each (see log/format.hpp)
// docs/format.md describes the same layout.
#pragma once

#include <fmt/format.h>

#include <brook/types.hpp>
#include <string>
#include <string_view>

#include "fs/file_system.hpp"

namespace brook::store {

inline constexpr const char* kLockFile = "LOCK";
inline constexpr const char* kMetaDir = "meta";
inline constexpr const char* kTopicsDir = "topics";

// The directory of one partition's log under the store directory `root`.
inline std::string partition_dir(const std::string& root, std::string_view topic, PartitionId id) {
    return fs::join_path(fs::join_path(root, kTopicsDir), fmt::format("{}-{}", topic, id.value()));
}

}  // namespace brook::store

// Batch validation shared by recovery, followers and the store checker.
//
// These functions read a segment's .log file and decide, without trusting any on-disk field
// before it is bounded, whether a batch is whole and intact. A bad batch is a torn write only
// when no valid batch follows it (valid_batch_follows); the caller decides what that means for
// its segment.
//
// Thread safety: pure functions over a File, which may be read from many threads at once.
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <vector>

#include "fs/file_system.hpp"
#include "log/record_batch.hpp"

namespace brook::log {

// Checks the batch at `position` of `log`, whose readable size is `limit`: header structure,
// length within the file, base offset at or above `min_offset`, offsets within the 32-bit
// range of `segment_base`, and checksum. `buffer` is scratch space, reused between calls.
// @return the batch's header; corruption saying which check failed; io_error.
Result<BatchHeader> check_batch(const fs::File& log, std::uint64_t position, std::uint64_t limit,
                                Offset min_offset, Offset segment_base,
                                std::vector<std::byte>& buffer);

// True if a batch that passes every check_batch check starts anywhere in (from, limit).
// @return io_error from the file system.
Result<bool> valid_batch_follows(const fs::File& log, std::uint64_t from, std::uint64_t limit,
                                 Offset min_offset, Offset segment_base);

}  // namespace brook::log

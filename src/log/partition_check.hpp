// Checking and repairing one partition directory, for the store checker (brook check).
//
// check_partition() validates every batch of every segment (as recovery would, but over the
// whole log, trusting nothing) and compares both sealed indexes of each segment with the
// batches they index. It changes nothing on disk. repair_partition() then fixes what recovery
// can fix: it drops the indexes found bad and the clean-shutdown marker, and opens and closes
// the log, which cuts off a torn tail and rebuilds and seals the indexes.
//
// Thread safety: free functions. check_partition may run while another process appends to the
// partition; repair_partition requires that no one else has it open (the store's lock).
#pragma once

#include <brook/clock.hpp>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "fs/file_system.hpp"
#include "log/log_config.hpp"

namespace brook::log {

enum class PartitionIssueKind : std::uint8_t {
    torn_tail,   // the last segment ends in a batch that is not whole and that nothing follows
    bad_index,   // an index file fails its own checks or disagrees with the log
    corruption,  // a bad batch that valid batches follow, or one in a sealed segment
};

struct PartitionIssue {
    PartitionIssueKind kind;
    std::string path;
    std::uint64_t position = 0;
    std::string message;
};

struct PartitionCheck {
    std::size_t segments = 0;
    std::size_t batches = 0;
    std::uint64_t bytes = 0;  // bytes of whole, valid batches
    std::vector<PartitionIssue> issues;

    // True when every issue is one repair_partition() fixes.
    bool repairable() const noexcept;
};

// Checks the partition in `dir`.
// @return not_found if `dir` does not exist; io_error.
Result<PartitionCheck> check_partition(fs::FileSystem& fs, const std::string& dir);

// Repairs the torn tail and bad indexes that `found` (from check_partition) lists.
// REQUIRES: found.repairable(); the caller holds the store's writer lock.
// @return the log's open or close errors (corruption if the log changed since the check).
Status repair_partition(fs::FileSystem& fs, const std::string& dir, const PartitionCheck& found,
                        const LogConfig& config, const Clock& clock);

}  // namespace brook::log

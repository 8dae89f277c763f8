// Inspection and repair of a store's files: what kafka-dump-log.sh and a store checker do.
//
// dump_log() reads segment files batch by batch and reports each batch's header and whether
// its checksum holds, optionally with its records. check_store() verifies every checksum and
// index of a store and, asked to, repairs what recovery can repair: it cuts off torn tails
// and rebuilds indexes. It never drops data from the middle of a log: a damaged batch that
// valid batches follow is reported as corruption and left as it is.
//
// Both work on a store another process is writing (check_store only without repair): they
// read the files and change nothing. Thread safety: free functions; any thread.
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace brook {

// One batch of a segment file, as dump_log() found it.
struct BatchInfo {
    std::uint64_t position = 0;  // byte position in the .log file
    Offset base_offset{};
    Offset last_offset{};
    std::uint32_t record_count = 0;
    std::uint64_t size_bytes = 0;  // the whole batch, header included
    std::int64_t first_timestamp = 0;
    std::int64_t max_timestamp = 0;
    TimestampType timestamp_type = TimestampType::create_time;
    std::string codec{};  // "none", "zstd", or "unknown(N)"
    bool checksum_ok = false;
    // With LogDumpOptions::records and a good checksum: the batch's records (topic empty,
    // partition 0). A batch that fails to decode has none, and `error` says why.
    std::vector<Message> records{};
    Status error{};
};

// One .log file.
struct SegmentDump {
    std::string path{};
    Offset base_offset{};
    std::uint64_t size_bytes = 0;
    std::vector<BatchInfo> batches{};
    // Bytes at the end of the file that do not start a readable batch header (a torn write,
    // or damage to a length field), and why.
    std::uint64_t unreadable_bytes = 0;
    std::string unreadable_reason{};
};

struct LogDumpOptions {
    bool records = false;
};

// Dumps a segment (`path` names a .log file) or every segment of a partition directory, in
// offset order. A bad checksum is reported per batch, not as an error.
// @return not_found (no such file or directory, or a directory without .log files);
//         invalid_argument (a file that is not named like a segment); io_error.
Result<std::vector<SegmentDump>> dump_log(const std::string& path,
                                          const LogDumpOptions& options = {});

enum class CheckIssueKind : std::uint8_t {
    torn_tail,   // the last segment ends in an incomplete batch; repair cuts it off
    bad_index,   // an index disagrees with its log; repair rebuilds it
    corruption,  // a damaged batch that valid data follows, or a missing partition; never repaired
};

struct CheckIssue {
    CheckIssueKind kind = CheckIssueKind::corruption;
    std::string topic{};
    PartitionId partition{};
    std::string path{};          // the file concerned
    std::uint64_t position = 0;  // byte position in it, where it applies
    std::string message{};
    bool repaired = false;
};

struct CheckOptions {
    // Cut off torn tails and rebuild bad indexes. Takes the store's writer lock.
    bool repair = false;
    // Called after each partition with (partitions done, partitions in all).
    std::function<void(std::size_t, std::size_t)> progress{};
};

struct CheckReport {
    std::size_t topics = 0;
    std::size_t partitions = 0;
    std::size_t segments = 0;
    std::size_t batches = 0;
    std::uint64_t bytes = 0;
    std::vector<CheckIssue> issues{};

    // True when every issue found was repaired (or none was found).
    bool healthy() const noexcept {
        for (const auto& issue : issues) {
            if (!issue.repaired) return false;
        }
        return true;
    }
};

// Verifies every batch checksum and every index of the store at `path`, and with
// options.repair repairs torn tails and indexes. Problems in the data are in the report, not
// errors.
// @return not_found (no store there); busy (repair while another process writes the store;
//         the message names its pid); io_error.
Result<CheckReport> check_store(const std::string& path, const CheckOptions& options = {});

}  // namespace brook

// Helpers for tests of the partition log: building batches, appending them and reading a
// whole log back, so tests can compare a log against a brute-force model of what it holds.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "log/partition_log.hpp"
#include "log/record_batch.hpp"
#include "log/segment.hpp"

namespace brook::testing {

// Opens (or creates) the partition log in `dir`, failing the test if that fails.
inline std::unique_ptr<log::PartitionLog> open_log(fs::FileSystem& fs, const std::string& dir,
                                                   const log::LogConfig& config,
                                                   const Clock& clock) {
    auto opened = log::PartitionLog::open(fs, dir, config, clock);
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
    return std::move(opened).value();
}

// Opens the partition log in `dir` as a follower (read-only, kept current by refresh()),
// failing the test if that fails.
inline std::unique_ptr<log::PartitionLog> open_follower(fs::FileSystem& fs, const std::string& dir,
                                                        const log::LogConfig& config,
                                                        const Clock& clock) {
    auto opened = log::PartitionLog::open_follower(fs, dir, config, clock);
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
    return std::move(opened).value();
}

// The path of segment `base`'s file with `suffix` (.log, .index, .timeindex) in `dir`.
inline std::string segment_file(const std::string& dir, Offset base, std::string_view suffix) {
    return fs::join_path(dir, log::Segment::file_name(base, suffix));
}

// A record with value "v<n>", key "k<n>" and the given timestamp.
inline log::Record make_record(std::int64_t n, std::int64_t timestamp) {
    log::Record r;
    r.key = "k" + std::to_string(n);
    r.value = "v" + std::to_string(n);
    r.timestamp = timestamp;
    return r;
}

inline std::vector<std::byte> encode(const std::vector<log::Record>& records,
                                     log::Compression compression = log::Compression::none) {
    log::BatchOptions options;
    options.compression = compression;
    auto encoded = log::encode_batch(records, options);
    REQUIRE(encoded.is_ok());
    return std::move(encoded).value();
}

// Appends `records` as one batch and returns where they landed.
inline log::AppendResult append(log::PartitionLog& log, const std::vector<log::Record>& records,
                                log::AppendOptions options = {}) {
    auto bytes = encode(records);
    auto result = log.append(bytes, options);
    REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
    return *result;
}

// Every record from `from` to the log end, in order, read with `max_bytes` per read.
inline std::vector<log::Record> read_all(const log::PartitionLog& log, Offset from,
                                         std::size_t max_bytes = 1 << 20) {
    std::vector<log::Record> out;
    while (from < log.log_end_offset()) {
        auto batches = log.read(from, max_bytes);
        REQUIRE_MESSAGE(batches.is_ok(), batches.status().to_string());
        REQUIRE(!batches->empty());
        for (auto& batch : *batches) {
            for (auto& record : batch.records) out.push_back(std::move(record));
            from = batch.header.last_offset() + 1;
        }
    }
    return out;
}

inline std::vector<log::Record> read_all(const log::PartitionLog& log) {
    return read_all(log, log.log_start_offset());
}

// A model record list with offsets assigned from `base`.
inline std::vector<log::Record> with_offsets(std::vector<log::Record> records, Offset base) {
    for (auto& r : records) r.offset = base, base = base + 1;
    return records;
}

// True if `inner` is a subsequence of `outer`: what a log keeps of another after compaction,
// each record the same and in the same order.
inline bool is_subsequence(const std::vector<log::Record>& outer,
                           const std::vector<log::Record>& inner) {
    std::size_t i = 0;
    for (const auto& r : outer) {
        if (i < inner.size() && inner[i] == r) ++i;
    }
    return i == inner.size();
}

}  // namespace brook::testing

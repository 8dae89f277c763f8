#include "log/partition_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "log/batch_check.hpp"
#include "log/checkpoint.hpp"
#include "log/format.hpp"
#include "log/offset_index.hpp"
#include "log/partition_log.hpp"
#include "log/segment.hpp"
#include "log/time_index.hpp"

namespace brook::log {
namespace {

// What the scan of one segment's log found: each whole batch by position.
struct ScannedBatch {
    Offset base_offset;
    std::int64_t max_timestamp;
};
using BatchMap = std::map<std::uint64_t, ScannedBatch>;

// Compares the sealed offset index with the batches of its log.
std::optional<std::string> offset_index_problem(fs::FileSystem& fs, const std::string& path,
                                                Offset base, const BatchMap& batches) {
    auto index = OffsetIndex::open_sealed(fs, path, base);
    if (!index.is_ok()) return index.status().message();
    for (std::size_t i = 0; i < (*index)->entry_count(); ++i) {
        const auto entry = (*index)->entry(i);
        const auto it = batches.find(entry.position);
        if (it == batches.end() || it->second.base_offset != entry.offset) {
            return fmt::format("entry {} (offset {}, position {}) does not point at that batch", i,
                               entry.offset.value(), entry.position);
        }
    }
    return std::nullopt;
}

// Compares the sealed time index with the batches of its log: each entry must name a batch
// and the largest timestamp of the segment up to that batch.
std::optional<std::string> time_index_problem(fs::FileSystem& fs, const std::string& path,
                                              Offset base, const BatchMap& batches) {
    auto index = TimeIndex::open_sealed(fs, path, base);
    if (!index.is_ok()) return index.status().message();
    std::map<Offset, std::int64_t> running_max;
    std::int64_t max = std::numeric_limits<std::int64_t>::min();
    for (const auto& [position, batch] : batches) {
        max = std::max(max, batch.max_timestamp);
        running_max.emplace(batch.base_offset, max);
    }
    for (std::size_t i = 0; i < (*index)->entry_count(); ++i) {
        const auto entry = (*index)->entry(i);
        const auto it = running_max.find(entry.offset);
        if (it == running_max.end() || it->second != entry.timestamp) {
            return fmt::format("entry {} (timestamp {}, offset {}) disagrees with the log", i,
                               entry.timestamp, entry.offset.value());
        }
    }
    return std::nullopt;
}

std::string index_path(const std::string& dir, Offset base, std::string_view suffix) {
    return fs::join_path(dir, Segment::file_name(base, suffix));
}

}  // namespace

bool PartitionCheck::repairable() const noexcept {
    return std::none_of(issues.begin(), issues.end(), [](const PartitionIssue& issue) {
        return issue.kind == PartitionIssueKind::corruption;
    });
}

Result<PartitionCheck> check_partition(fs::FileSystem& fs, const std::string& dir) {
    if (!fs.exists(dir)) return Status::not_found(fmt::format("no partition directory {}", dir));
    BROOK_ASSIGN_OR_RETURN(const auto names, fs.list_dir(dir));
    std::vector<Offset> bases;
    for (const auto& name : names) {
        if (auto base = Segment::parse_file_name(name, format::kLogSuffix)) bases.push_back(*base);
    }
    std::sort(bases.begin(), bases.end());
    // Without a clean-shutdown marker the active segment's indexes are unsealed (a writer is
    // appending, or recovery will rebuild them), so only sealed segments' indexes are checked.
    auto clean = read_checkpoint(fs, dir, CheckpointKind::clean_shutdown);
    const bool clean_shutdown = clean.is_ok() && clean->has_value();
    // A last segment still as long as the clean close left it was fsynced whole: a bad batch in
    // it is damage, not a write the crash cut short.
    const bool closed_at_size =
        clean_shutdown && !bases.empty() && (*clean)->offset >= bases.back();
    const std::uint64_t closed_size = closed_at_size ? (*clean)->active_log_size : 0;

    PartitionCheck result;
    result.segments = bases.size();
    Offset next = bases.empty() ? Offset(0) : bases.front();
    std::vector<std::byte> buffer;
    for (std::size_t i = 0; i < bases.size(); ++i) {
        const Offset base = bases[i];
        const bool last = i + 1 == bases.size();
        const std::string log_path = index_path(dir, base, format::kLogSuffix);
        BROOK_ASSIGN_OR_RETURN(const auto log, fs.open(log_path, fs::OpenMode::read_only));
        BROOK_ASSIGN_OR_RETURN(std::uint64_t limit, log->size());
        if (base < next) {
            result.issues.push_back({PartitionIssueKind::corruption, log_path, 0,
                                     fmt::format("the segment starts at offset {}, below the end "
                                                 "{} of the segment before it",
                                                 base.value(), next.value())});
        }
        next = std::max(next, base);
        BatchMap batches;
        bool damaged = false;
        for (std::uint64_t position = 0; position < limit;) {
            auto header = check_batch(*log, position, limit, next, base, buffer);
            if (header.is_ok()) {
                batches.emplace(position, ScannedBatch{header->base_offset, header->max_timestamp});
                ++result.batches;
                result.bytes += header->total_size();
                position += header->total_size();
                next = header->last_offset() + 1;
                continue;
            }
            if (last) {
                // A live writer may have been in the middle of this batch: if the file has
                // grown since, look again with the new size before calling the tail torn.
                BROOK_ASSIGN_OR_RETURN(const std::uint64_t grown, log->size());
                if (grown > limit) {
                    limit = grown;
                    continue;
                }
            }
            BROOK_ASSIGN_OR_RETURN(const bool follows,
                                   valid_batch_follows(*log, position, limit, next, base));
            const bool torn = last && !follows && !(closed_at_size && closed_size == limit);
            result.issues.push_back(
                {torn ? PartitionIssueKind::torn_tail : PartitionIssueKind::corruption, log_path,
                 position,
                 torn ? fmt::format("torn tail: {} ({} bytes after the last whole batch)",
                                    header.status().message(), limit - position)
                      : fmt::format("{}{}", header.status().message(),
                                    follows ? ", and valid batches follow it"
                                    : last  ? ", in a segment that was closed cleanly at this size"
                                            : ", in a sealed segment")});
            damaged = !torn;
            break;
        }
        if (damaged || (last && !clean_shutdown)) continue;
        const std::string offset_path = index_path(dir, base, format::kOffsetIndexSuffix);
        const std::string time_path = index_path(dir, base, format::kTimeIndexSuffix);
        if (auto problem = offset_index_problem(fs, offset_path, base, batches)) {
            result.issues.push_back({PartitionIssueKind::bad_index, offset_path, 0, *problem});
        }
        if (auto problem = time_index_problem(fs, time_path, base, batches)) {
            result.issues.push_back({PartitionIssueKind::bad_index, time_path, 0, *problem});
        }
    }
    return result;
}

Status repair_partition(fs::FileSystem& fs, const std::string& dir, const PartitionCheck& found,
                        const LogConfig& config, const Clock& clock) {
    std::set<std::string> bad_indexes;
    for (const auto& issue : found.issues) {
        if (issue.kind == PartitionIssueKind::bad_index) bad_indexes.insert(issue.path);
    }
    for (const auto& path : bad_indexes) {
        if (Status removed = fs.remove_file(path);
            !removed.is_ok() && removed.code() != Code::not_found) {
            return removed;
        }
    }
    if (!bad_indexes.empty()) BROOK_RETURN_IF_ERROR(fs.sync_dir(dir));
    // Without the marker, opening rescans the last segment and cuts off its torn tail; a
    // segment whose indexes are missing has them rebuilt from its log.
    BROOK_RETURN_IF_ERROR(remove_checkpoint(fs, dir, CheckpointKind::clean_shutdown));
    BROOK_ASSIGN_OR_RETURN(auto log, PartitionLog::open(fs, dir, config, clock));
    return log->close();
}

}  // namespace brook::log

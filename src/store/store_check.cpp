// check_store: verifies, and on request repairs, every partition of a store on disk.
//
// The topics come from the metadata, opened read-only so that a live writer is not disturbed;
// each partition directory is checked by log::check_partition. Repair takes the store's
// writer lock first, so it never races a writer.
#include <fmt/format.h>

#include <brook/clock.hpp>
#include <brook/inspect.hpp>

#include "log/partition_check.hpp"
#include "meta/meta_store.hpp"
#include "store/store_layout.hpp"
#include "store/topic_config.hpp"

namespace brook {
namespace {

CheckIssueKind to_public(log::PartitionIssueKind kind) {
    switch (kind) {
        case log::PartitionIssueKind::torn_tail: return CheckIssueKind::torn_tail;
        case log::PartitionIssueKind::bad_index: return CheckIssueKind::bad_index;
        case log::PartitionIssueKind::corruption: break;
    }
    return CheckIssueKind::corruption;
}

void add_issues(const meta::TopicRecord& topic, PartitionId partition,
                const log::PartitionCheck& found, bool repaired, CheckReport& report) {
    for (const auto& issue : found.issues) {
        report.issues.push_back(CheckIssue{to_public(issue.kind), topic.name, partition, issue.path,
                                           issue.position, issue.message, repaired});
    }
}

}  // namespace

Result<CheckReport> check_store(const std::string& path, const CheckOptions& options) {
    fs::FileSystem& files = fs::posix_file_system();
    const std::string meta_dir = fs::join_path(path, store::kMetaDir);
    if (!files.exists(meta_dir)) {
        return Status::not_found(
            fmt::format("no store at {} (no {} directory)", path, store::kMetaDir));
    }
    std::unique_ptr<fs::FileLock> lock;
    if (options.repair) {
        BROOK_ASSIGN_OR_RETURN(lock, files.lock_file(fs::join_path(path, store::kLockFile)));
    }
    meta::MetaOptions meta_options;
    meta_options.read_only = true;
    BROOK_ASSIGN_OR_RETURN(auto meta, meta::open_lmdb_meta_store(meta_dir, meta_options));
    BROOK_ASSIGN_OR_RETURN(const auto topics, meta->list_topics());

    CheckReport report;
    report.topics = topics.size();
    std::size_t total = 0;
    for (const auto& topic : topics) total += static_cast<std::size_t>(topic.partitions);
    for (const auto& topic : topics) {
        for (std::int32_t p = 0; p < topic.partitions; ++p) {
            const PartitionId partition(p);
            const std::string dir = store::partition_dir(path, topic.name, partition);
            ++report.partitions;
            auto found = log::check_partition(files, dir);
            if (found.code() == Code::not_found) {
                report.issues.push_back(CheckIssue{CheckIssueKind::corruption, topic.name,
                                                   partition, dir, 0,
                                                   "the partition directory is missing", false});
                if (options.progress) options.progress(report.partitions, total);
                continue;
            }
            if (!found.is_ok()) return found.status();
            report.segments += found->segments;
            report.batches += found->batches;
            report.bytes += found->bytes;
            bool repaired = false;
            if (options.repair && !found->issues.empty() && found->repairable()) {
                BROOK_ASSIGN_OR_RETURN(const auto config,
                                       store::resolve_topic_config({}, topic.overrides));
                BROOK_RETURN_IF_ERROR(log::repair_partition(
                    files, dir, *found, store::to_log_config(config), SystemClock::instance()));
                BROOK_ASSIGN_OR_RETURN(const auto after, log::check_partition(files, dir));
                repaired = after.issues.empty();
            }
            add_issues(topic, partition, *found, repaired, report);
            if (options.progress) options.progress(report.partitions, total);
        }
    }
    return report;
}

}  // namespace brook

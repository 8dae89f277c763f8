// PartitionLog's support for the cleaner: raising the log start offset and removing the
// segments below it, rolling on segment.ms, and swapping cleaned segments in.
//
// The compaction swap (docs/format.md, "Compaction swap"):
//   1. build the cleaned segment in <dir>/cleaner.cleaned/ (named by its base offset), seal it
//      (fsync of the log and both indexes), write the swap manifest there (fsynced, and the
//      staging directory fsynced);
//   2. commit: rename cleaner.cleaned to cleaner.swap, fsync <dir>;
//   3. remove the replaced segments other than the one at the new segment's base, rename the
//      new indexes and then the new .log over the old files, fsync <dir>;
//   4. remove the manifest and cleaner.swap, fsync <dir>.
// Open runs recover_swap() first: a cleaner.cleaned is discarded (the old segments are
// intact), a cleaner.swap is finished from step 3 (the new segment is complete and durable).
#include <fmt/format.h>

#include <algorithm>

#include "log/checkpoint.hpp"
#include "log/format.hpp"
#include "log/partition_log.hpp"
#include "log/txn_index.hpp"

namespace brook::log {
namespace {

// The .log comes last: a swap is complete once it has moved.
constexpr std::string_view kSegmentSuffixes[] = {format::kOffsetIndexSuffix,
                                                 format::kTimeIndexSuffix, format::kTxnIndexSuffix,
                                                 format::kLogSuffix};

}  // namespace

LogConfig PartitionLog::config() const {
    std::lock_guard lock(append_mu_);
    return config_;
}

Status PartitionLog::remove_segment_files(const std::string& dir, Offset base) {
    for (const auto suffix : kSegmentSuffixes) {
        const Status removed =
            fs_.remove_file(fs::join_path(dir, Segment::file_name(base, suffix)));
        if (!removed.is_ok() && removed.code() != Code::not_found) return removed;
    }
    return Status::ok();
}

Status PartitionLog::remove_tree(const std::string& path) {
    if (!fs_.exists(path)) return Status::ok();
    BROOK_ASSIGN_OR_RETURN(const auto names, fs_.list_dir(path));
    for (const auto& name : names)
        BROOK_RETURN_IF_ERROR(fs_.remove_file(fs::join_path(path, name)));
    BROOK_RETURN_IF_ERROR(fs_.remove_dir(path));
    return fs_.sync_dir(dir_);
}

Result<std::uint64_t> PartitionLog::advance_log_start(Offset offset) {
    std::lock_guard maintenance(maintenance_mu_);
    {
        std::lock_guard lock(append_mu_);
        BROOK_RETURN_IF_ERROR(check_writable());
    }
    BROOK_RETURN_IF_ERROR(write_pending_roll_checkpoint());
    const Offset target = std::min(offset, log_end_offset());
    if (target > log_start_offset()) {
        BROOK_RETURN_IF_ERROR(
            write_checkpoint(fs_, dir_, CheckpointKind::log_start_offset, Checkpoint{target, 0}));
        start_.store(target.value(), std::memory_order_release);
    }
    return remove_segments_below_start();
}

Result<std::uint64_t> PartitionLog::remove_segments_below_start() {
    const Offset start = log_start_offset();
    std::vector<std::shared_ptr<Segment>> removed;
    Offset first_kept;
    {
        std::lock_guard append(append_mu_);
        // A roll since the last write of a pending checkpoint left its own pending: a replay
        // after a crash would start from the last snapshot written, so the batches from there
        // on stay, until write_roll_checkpoint() has written the newer one.
        const Offset keep_from =
            pending_roll_checkpoint_ ? std::min(start, checkpointed_base_) : start;
        std::unique_lock lock(segments_mu_);
        // A segment lies wholly below the start when the next one begins at or below it; the
        // active segment has no next one and always stays.
        std::size_t count = 0;
        while (count + 1 < segments_.size() && segments_[count + 1]->base_offset() <= keep_from)
            ++count;
        removed.assign(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(count));
        segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(count));
        if (count > 0) generation_.fetch_add(1, std::memory_order_acq_rel);
        first_kept = segments_.front()->base_offset();
    }
    std::uint64_t bytes = 0;
    Status status;
    for (const auto& segment : removed) {
        bytes += segment->size();
        if (status.is_ok()) status = remove_segment_files(dir_, segment->base_offset());
    }
    if (status.is_ok() && !removed.empty()) status = txn_.drop_below(first_kept);
    if (status.is_ok() && !removed.empty()) status = fs_.sync_dir(dir_);
    if (!status.is_ok()) {
        // The segments are gone from memory but perhaps not from disk: a reopen sorts it out.
        std::lock_guard lock(append_mu_);
        return fail_stop(status);
    }
    return bytes;
}

Result<bool> PartitionLog::roll_if_due(bool force) {
    std::lock_guard lock(append_mu_);
    BROOK_RETURN_IF_ERROR(check_writable());
    const auto segment = active();
    if (segment->size() == 0) return false;
    const Offset end = log_end_offset();
    if (!force && !segment->should_roll(0, end, clock_.now_ms(), config_)) return false;
    BROOK_RETURN_IF_ERROR(prepare_active_locked());
    BROOK_RETURN_IF_ERROR(roll(end));
    return true;
}

Status PartitionLog::replace_segments(Offset begin, Offset end,
                                      const std::function<Status(const BatchSink&)>& write) {
    std::lock_guard maintenance(maintenance_mu_);
    LogConfig config;
    {
        std::lock_guard lock(append_mu_);
        BROOK_RETURN_IF_ERROR(check_writable());
        config = config_;
    }
    BROOK_RETURN_IF_ERROR(write_pending_roll_checkpoint());
    {
        std::shared_lock lock(segments_mu_);
        const auto has_base = [&](Offset base) {
            return std::any_of(segments_.begin(), segments_.end(),
                               [&](const auto& s) { return s->base_offset() == base; });
        };
        if (!(begin < end) || !has_base(begin) || !has_base(end)) {
            return Status::invalid_argument(fmt::format(
                "cannot replace the segments in [{}, {}) of {}: both ends must be segment base "
                "offsets, the end above the beginning",
                begin.value(), end.value(), dir_));
        }
    }

    // Steps 1 and 2: build, seal and commit. A failure here leaves the old segments in force.
    const std::string staging = fs::join_path(dir_, std::string(format::kCleanedDir));
    const std::string swap = fs::join_path(dir_, std::string(format::kSwapDir));
    BROOK_RETURN_IF_ERROR(remove_tree(staging));
    const auto build = [&]() -> Status {
        BROOK_RETURN_IF_ERROR(fs_.create_dirs(staging));
        BROOK_RETURN_IF_ERROR(fs_.sync_dir(dir_));
        BROOK_ASSIGN_OR_RETURN(auto cleaned, Segment::create(fs_, staging, begin, config));
        Offset next = begin;
        BROOK_RETURN_IF_ERROR(write([&](std::span<const std::byte> batch) -> Status {
            if (batch.size() < format::kBatchHeaderSize) {
                return Status::invalid_argument("a cleaned batch is shorter than its header");
            }
            BROOK_ASSIGN_OR_RETURN(const BatchHeader header, parse_batch_header(batch));
            if (header.total_size() != batch.size() || header.base_offset < next ||
                header.last_offset() >= end) {
                return Status::invalid_argument(fmt::format(
                    "a cleaned batch at offsets [{}, {}] does not fit [{}, {}) after offset {}",
                    header.base_offset.value(), header.last_offset().value(), next.value(),
                    end.value(), next.value()));
            }
            next = header.last_offset() + 1;
            return cleaned->append(batch, header, config);
        }));
        BROOK_RETURN_IF_ERROR(cleaned->seal());
        cleaned.reset();
        // The markers stay, so their aborted transactions stay indexed. The file is written
        // whenever a replaced segment has one, so the swap replaces it.
        const auto aborted = txn_.aborted_in(begin, end);
        bool had_index = false;
        BROOK_ASSIGN_OR_RETURN(const auto names, fs_.list_dir(dir_));
        for (const auto& name : names) {
            const auto base = Segment::parse_file_name(name, format::kTxnIndexSuffix);
            had_index = had_index || (base && *base >= begin && *base < end);
        }
        if (had_index || !aborted.empty()) {
            BROOK_RETURN_IF_ERROR(write_txn_index(fs_, staging, begin, aborted));
        }
        return write_checkpoint(fs_, staging, CheckpointKind::swap_manifest,
                                Checkpoint{begin, static_cast<std::uint64_t>(end.value())});
    };
    if (Status built = build(); !built.is_ok()) {
        remove_tree(staging).ignore();
        return built;
    }
    if (Status renamed = fs_.rename(staging, swap); !renamed.is_ok()) {
        remove_tree(staging).ignore();
        return renamed;
    }

    // Steps 3 and 4, then the switch in memory. Past the commit there is no way back.
    Status status = fs_.sync_dir(dir_);
    if (status.is_ok()) status = complete_swap(begin, end);
    std::shared_ptr<Segment> fresh;
    if (status.is_ok()) {
        auto opened = Segment::open(fs_, dir_, begin, config, false);
        status = opened.status();
        if (opened.is_ok()) fresh = std::move(*opened);
    }
    if (!status.is_ok()) {
        std::lock_guard lock(append_mu_);
        return fail_stop(status);
    }
    {
        std::unique_lock lock(segments_mu_);
        const auto first = std::find_if(segments_.begin(), segments_.end(),
                                        [&](const auto& s) { return s->base_offset() >= begin; });
        const auto last = std::find_if(first, segments_.end(),
                                       [&](const auto& s) { return s->base_offset() >= end; });
        *first = std::move(fresh);
        segments_.erase(first + 1, last);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    return Status::ok();
}

Status PartitionLog::complete_swap(Offset begin, Offset end) {
    const std::string swap = fs::join_path(dir_, std::string(format::kSwapDir));
    BROOK_ASSIGN_OR_RETURN(const auto names, fs_.list_dir(dir_));
    for (const auto& name : names) {
        const auto base = Segment::parse_file_name(name, format::kLogSuffix);
        if (base && *base > begin && *base < end) {
            BROOK_RETURN_IF_ERROR(remove_segment_files(dir_, *base));
        }
        // The snapshots at the removed segments' bases go with them.
        const auto snapshot = Segment::parse_file_name(name, format::kSnapshotSuffix);
        if (snapshot && *snapshot > begin && *snapshot < end) {
            BROOK_RETURN_IF_ERROR(fs_.remove_file(fs::join_path(dir_, name)));
        }
    }
    // The .log moves last: while it is still in the swap directory, the step is not done.
    for (const auto suffix : kSegmentSuffixes) {
        const std::string name = Segment::file_name(begin, suffix);
        const std::string from = fs::join_path(swap, name);
        if (fs_.exists(from)) BROOK_RETURN_IF_ERROR(fs_.rename(from, fs::join_path(dir_, name)));
    }
    BROOK_RETURN_IF_ERROR(fs_.sync_dir(dir_));
    return remove_tree(swap);
}

Status PartitionLog::recover_swap() {
    BROOK_RETURN_IF_ERROR(remove_tree(fs::join_path(dir_, std::string(format::kCleanedDir))));
    const std::string swap = fs::join_path(dir_, std::string(format::kSwapDir));
    if (!fs_.exists(swap)) return Status::ok();
    BROOK_ASSIGN_OR_RETURN(const auto manifest,
                           read_checkpoint(fs_, swap, CheckpointKind::swap_manifest));
    if (!manifest) {
        // The manifest goes only after every file has moved: the swap was complete.
        return remove_tree(swap);
    }
    return complete_swap(manifest->offset,
                         Offset(static_cast<std::int64_t>(manifest->active_log_size)));
}

}  // namespace brook::log

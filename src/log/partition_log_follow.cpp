// PartitionLog's follower side: a read-only view of a partition that another process writes,
// kept current by refresh().
//
// The follower lists the partition directory and opens the segments it has not seen. The
// writer changes the directory under it without regard to readers, and the follower must never
// join parts of two states of the log:
// - A roll adds a segment once the writer has sealed the one before.
// - Retention removes segments from the front; the log start moves up.
// - A compaction swap replaces the segments [begin, end) by one cleaned segment with base
//   `begin` (docs/format.md, "Compaction swap"). Past its commit, the writer removes the old
//   segments in (begin, end), then moves the cleaned files over the old ones at `begin`, the
//   .log last. A listing taken in between shows the old segment at `begin` without some of the
//   rest, so the follower reads the swap's manifest and takes the cleaned segment for the whole
//   range, from cleaner.swap/ while its .log has not moved.
// Segments the follower already holds stay readable after the writer replaces them (its
// handles keep the old files), and the old records they hold are a superset of the cleaned
// ones. Only segments removed before the follower opened them would be lost: the first segment
// listed after its last one then does not start where that one ends, and the follower reopens
// from the segment the writer left in their place.
#include <fmt/format.h>

#include <algorithm>

#include "log/checkpoint.hpp"
#include "log/format.hpp"
#include "log/partition_log.hpp"

namespace brook::log {
namespace {

// How many times a follower lists its directory while the writer removes the segments listed.
// Each removal is a retention pass or a compaction swap, so a fourth in a row means the
// directory is changing faster than it can be read, or the files were removed by hand.
constexpr int kFollowListings = 4;

}  // namespace

Result<std::unique_ptr<PartitionLog>> PartitionLog::open_follower(fs::FileSystem& fs,
                                                                  std::string dir, LogConfig config,
                                                                  const Clock& clock) {
    BROOK_RETURN_IF_ERROR(config.validate());
    if (!fs.exists(dir)) {
        return Status::not_found(fmt::format("partition directory {} does not exist", dir));
    }
    std::unique_ptr<PartitionLog> log(new PartitionLog(fs, std::move(dir), config, clock));
    log->index_fs_ = fs::new_memory_file_system();
    BROOK_RETURN_IF_ERROR(log->refresh().status());
    return log;
}

Result<bool> PartitionLog::refresh() {
    std::lock_guard lock(append_mu_);
    if (closed_) return Status::closed(fmt::format("the log {} is closed", dir_));
    if (!index_fs_) return Status::invalid_argument("refresh() is only for followers");
    const bool first = segments_.empty();
    const std::int64_t old_end = end_.load(std::memory_order_relaxed);
    BROOK_ASSIGN_OR_RETURN(auto followed, follow_segments());
    if (!followed.segments.empty()) {
        std::unique_lock segments_lock(segments_mu_);
        const auto replaced = std::find_if(segments_.begin(), segments_.end(), [&](const auto& s) {
            return s->base_offset() >= followed.from;
        });
        // The writer seals a segment before it creates the next, so the one before the new
        // segments is complete. Sealed first, so that a failure leaves the segments as they were.
        if (replaced != segments_.begin()) BROOK_RETURN_IF_ERROR((*(replaced - 1))->seal());
        if (replaced != segments_.end()) {
            segments_.erase(replaced, segments_.end());
            generation_.fetch_add(1, std::memory_order_acq_rel);
        }
        for (auto& segment : followed.segments) segments_.push_back(std::move(segment));
    }
    if (segments_.empty()) return false;
    // A reopen of replaced segments never takes the end back.
    const Offset new_end = std::max(segments_.back()->next_offset(), Offset(old_end));
    BROOK_RETURN_IF_ERROR(follow_transactions(Offset(old_end), new_end, first));
    end_.store(new_end.value(), std::memory_order_release);
    // The writer's retention and delete_records raise its start; a damaged or half-replaced
    // checkpoint is read again at the next refresh.
    Offset start = segments_.front()->base_offset();
    if (auto checkpoint = read_checkpoint(fs_, dir_, CheckpointKind::log_start_offset);
        checkpoint.is_ok() && checkpoint->has_value()) {
        start = std::max(start, (*checkpoint)->offset);
    }
    start =
        std::max(Offset(start_.load(std::memory_order_relaxed)), std::min(start, log_end_offset()));
    start_.store(start.value(), std::memory_order_release);
    // Segments wholly below the start are gone from the writer's directory: let them go too, so
    // that their files' space is freed once no reader holds them.
    std::unique_lock segments_lock(segments_mu_);
    const auto kept = std::find_if(segments_.begin() + 1, segments_.end(),
                                   [&](const auto& s) { return s->base_offset() > start; }) -
                      1;
    if (kept != segments_.begin()) {
        segments_.erase(segments_.begin(), kept);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    return end_.load(std::memory_order_relaxed) != old_end;
}

Result<PartitionLog::FollowerListing> PartitionLog::list_for_follower() const {
    BROOK_ASSIGN_OR_RETURN(const auto names, fs_.list_dir(dir_));
    std::optional<Checkpoint> swap;
    const std::string swap_dir = fs::join_path(dir_, std::string(format::kSwapDir));
    if (std::find(names.begin(), names.end(), format::kSwapDir) != names.end()) {
        // Absent once the swap is complete (the manifest goes before the directory).
        BROOK_ASSIGN_OR_RETURN(swap, read_checkpoint(fs_, swap_dir, CheckpointKind::swap_manifest));
    }
    const auto replaced = [&](Offset base) {
        return swap && base > swap->offset &&
               base.value() < static_cast<std::int64_t>(swap->active_log_size);
    };
    FollowerListing listing;
    for (const auto& name : names) {
        const auto base = Segment::parse_file_name(name, format::kLogSuffix);
        if (base && !replaced(*base)) listing.bases.push_back(*base);
    }
    std::sort(listing.bases.begin(), listing.bases.end());
    if (swap &&
        fs_.exists(fs::join_path(swap_dir, Segment::file_name(swap->offset, format::kLogSuffix)))) {
        listing.in_swap_dir = swap->offset;
        if (!std::binary_search(listing.bases.begin(), listing.bases.end(), swap->offset)) {
            listing.bases.insert(
                std::lower_bound(listing.bases.begin(), listing.bases.end(), swap->offset),
                swap->offset);
        }
    }
    return listing;
}

Result<PartitionLog::FollowedSegments> PartitionLog::follow_segments() {
    const std::shared_ptr<Segment> last = segments_.empty() ? nullptr : segments_.back();
    for (int attempt = 1;; ++attempt) {
        BROOK_ASSIGN_OR_RETURN(const auto listing, list_for_follower());
        const auto& bases = listing.bases;
        if (bases.empty()) return FollowedSegments{};
        auto from = bases.begin();
        if (last) {
            // After the listing: if it shows a later segment, this one is complete.
            BROOK_RETURN_IF_ERROR(last->catch_up(config_));
            from = std::upper_bound(bases.begin(), bases.end(), last->base_offset());
            if (from == bases.end()) return FollowedSegments{};
            // Segments this follower never opened are gone: start again from the one the writer
            // left in their place.
            if (*from != last->next_offset() && from != bases.begin()) --from;
        }
        FollowedSegments followed{*from, {}};
        Status failed = Status::ok();
        for (auto it = from; it != bases.end() && failed.is_ok(); ++it) {
            const std::string dir = listing.in_swap_dir == *it
                                        ? fs::join_path(dir_, std::string(format::kSwapDir))
                                        : dir_;
            // A segment followed again builds its indexes afresh; the replaced one keeps its own.
            for (const auto suffix : {format::kOffsetIndexSuffix, format::kTimeIndexSuffix}) {
                index_fs_->remove_file(fs::join_path(dir, Segment::file_name(*it, suffix)))
                    .ignore();
            }
            auto segment =
                Segment::follow(fs_, *index_fs_, dir, *it, config_, it + 1 == bases.end());
            if (segment.is_ok()) {
                followed.segments.push_back(std::move(*segment));
            } else {
                failed = segment.status();
            }
        }
        if (failed.is_ok()) return followed;
        // Retention or a compaction swap removed a listed segment before it was opened.
        if (failed.code() != Code::not_found || attempt == kFollowListings) return failed;
    }
}

}  // namespace brook::log

#include "log/partition_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <set>

#include "log/checkpoint.hpp"
#include "log/format.hpp"
#include "log/producer_snapshot.hpp"

namespace brook::log {

Result<std::unique_ptr<PartitionLog>> PartitionLog::open(fs::FileSystem& fs, std::string dir,
                                                         LogConfig config, const Clock& clock) {
    BROOK_RETURN_IF_ERROR(config.validate());
    std::unique_ptr<PartitionLog> log(new PartitionLog(fs, std::move(dir), config, clock));
    BROOK_RETURN_IF_ERROR(log->load());
    log->appending_ = log->segments_.back().get();
    return log;
}

PartitionLog::PartitionLog(fs::FileSystem& fs, std::string dir, LogConfig config,
                           const Clock& clock)
    : fs_(fs), dir_(std::move(dir)), config_(config), clock_(clock), txn_(fs, dir_) {}

PartitionLog::~PartitionLog() {
    close().ignore();
}

Status PartitionLog::load() {
    const bool existed = fs_.exists(dir_);
    if (Status made = existed ? Status::ok() : fs_.create_dirs(dir_); !made.is_ok()) {
        return Status::error(made.code(),
                             fmt::format("cannot create the partition directory {}: {}; check "
                                         "that the store's directory exists and is writable",
                                         dir_, made.message()));
    }
    // A directory that holds a valid clean-shutdown marker was made durable by the open that
    // preceded that close; any other is synced into its parent below.
    const auto sync_parent = [&] { return fs_.sync_dir(fs::parent_path(dir_)); };
    if (!existed) BROOK_RETURN_IF_ERROR(sync_parent());
    // The directory is listed once, and the listing says which of the files the open reads
    // exist. Only a compaction a crash interrupted changes it before the segments are read.
    BROOK_ASSIGN_OR_RETURN(auto names, fs_.list_dir(dir_));
    const auto listed = [&](std::string_view name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    if (listed(format::kCleanedDir) || listed(format::kSwapDir)) {
        BROOK_RETURN_IF_ERROR(recover_swap());
        BROOK_ASSIGN_OR_RETURN(names, fs_.list_dir(dir_));
    }
    BROOK_RETURN_IF_ERROR(remove_stray_files(names));

    std::vector<Offset> bases;
    for (const auto& name : names) {
        if (auto base = Segment::parse_file_name(name, format::kLogSuffix)) bases.push_back(*base);
    }
    std::sort(bases.begin(), bases.end());
    last_flush_ms_ = clock_.now_ms();

    if (bases.empty()) {
        BROOK_ASSIGN_OR_RETURN(auto first, Segment::create(fs_, dir_, Offset(0), config_));
        segments_.push_back(std::move(first));
        return Status::ok();
    }

    // A damaged checkpoint only costs a longer recovery, so it counts as absent.
    auto clean = read_checkpoint(fs_, dir_, CheckpointKind::clean_shutdown);
    const std::string last_log =
        fs::join_path(dir_, Segment::file_name(bases.back(), format::kLogSuffix));
    std::uint64_t last_size = 0;
    {
        BROOK_ASSIGN_OR_RETURN(auto file, fs_.open(last_log, fs::OpenMode::read_only));
        BROOK_ASSIGN_OR_RETURN(last_size, file->size());
    }
    recovery_.clean_shutdown = clean.is_ok() && clean->has_value() &&
                               (*clean)->active_log_size == last_size &&
                               (*clean)->offset >= bases.back();
    if (existed && !recovery_.clean_shutdown) BROOK_RETURN_IF_ERROR(sync_parent());
    const auto recovery_point = recovery_.clean_shutdown
                                    ? Result<std::optional<Checkpoint>>(std::nullopt)
                                    : read_checkpoint(fs_, dir_, CheckpointKind::recovery_point);
    const Offset recover_from = recovery_point.is_ok() && recovery_point->has_value()
                                    ? (*recovery_point)->offset
                                    : Offset(0);

    checkpointed_base_ = recover_from;
    Offset rescan_from = Offset(std::numeric_limits<std::int64_t>::max());
    for (std::size_t i = 0; i < bases.size(); ++i) {
        const bool last = i + 1 == bases.size();
        // A segment that ends at or before the recovery point was fsynced and sealed at roll.
        const bool trusted = recovery_.clean_shutdown || (!last && bases[i + 1] <= recover_from);
        Result<std::shared_ptr<Segment>> segment =
            trusted ? Segment::open(fs_, dir_, bases[i], config_, last)
                    : Segment::recover(fs_, dir_, bases[i], config_, last, last);
        if (!segment.is_ok()) return segment.status();
        if (!trusted) ++recovery_.segments_scanned;
        if (!trusted) rescan_from = std::min(rescan_from, bases[i]);
        segments_.push_back(std::move(*segment));
    }
    if (!recovery_.clean_shutdown) recovery_.bytes_truncated = last_size - segments_.back()->size();
    end_.store(segments_.back()->next_offset().value(), std::memory_order_release);
    // Retention and delete_records raise the start above the first segment's base. A damaged
    // checkpoint is reported: ignoring it would bring deleted records back.
    auto start_checkpoint = listed(format::kLogStartOffsetFile)
                                ? read_checkpoint(fs_, dir_, CheckpointKind::log_start_offset)
                                : Result<std::optional<Checkpoint>>(std::nullopt);
    if (!start_checkpoint.is_ok()) {
        return Status::error(start_checkpoint.code(),
                             fmt::format("{}; remove that file to restart the log at its first "
                                         "segment, which may bring back deleted records",
                                         start_checkpoint.status().message()));
    }
    Offset start = bases.front();
    if (start_checkpoint->has_value()) start = std::max(start, (*start_checkpoint)->offset);
    start_.store(std::min(start, log_end_offset()).value(), std::memory_order_release);
    BROOK_RETURN_IF_ERROR(load_transactions(names, bases, std::min(rescan_from, log_end_offset())));
    // A clean open writes nothing: the marker stays valid, and the active segment sealed,
    // until the first write that changes the active segment (prepare_active_locked()).
    clean_on_disk_ = recovery_.clean_shutdown;
    return Status::ok();
}

Status PartitionLog::prepare_active_locked() {
    if (!clean_on_disk_) return Status::ok();
    if (Status unsealed = active()->unseal(config_); !unsealed.is_ok()) return fail_stop(unsealed);
    // From here on a crash must be detected as unclean.
    if (Status removed = remove_checkpoint(fs_, dir_, CheckpointKind::clean_shutdown);
        !removed.is_ok()) {
        return fail_stop(removed);
    }
    clean_on_disk_ = false;
    return Status::ok();
}

Status PartitionLog::remove_stray_files(const std::vector<std::string>& names) {
    std::set<std::string> logs;
    for (const auto& name : names) {
        if (Segment::parse_file_name(name, format::kLogSuffix)) logs.insert(name);
    }
    bool removed = false;
    for (const auto& name : names) {
        std::optional<Offset> index_base =
            Segment::parse_file_name(name, format::kOffsetIndexSuffix);
        if (!index_base) index_base = Segment::parse_file_name(name, format::kTimeIndexSuffix);
        if (!index_base) index_base = Segment::parse_file_name(name, format::kTxnIndexSuffix);
        const bool orphan_index =
            index_base && !logs.contains(Segment::file_name(*index_base, format::kLogSuffix));
        if (orphan_index || name.ends_with(format::kTempSuffix)) {
            BROOK_RETURN_IF_ERROR(fs_.remove_file(fs::join_path(dir_, name)));
            removed = true;
        }
    }
    return removed ? fs_.sync_dir(dir_) : Status::ok();
}

Status PartitionLog::check_writable() const {
    if (closed_) return Status::closed(fmt::format("the log {} is closed", dir_));
    if (index_fs_) {
        return Status::invalid_argument(
            fmt::format("the log {} is opened read-only, following another writer", dir_));
    }
    if (!stopped_.is_ok()) return stopped_;
    return Status::ok();
}

std::shared_ptr<Segment> PartitionLog::active() const {
    std::shared_lock lock(segments_mu_);
    return segments_.back();
}

Result<AppendResult> PartitionLog::append(std::span<std::byte> batch,
                                          const AppendOptions& options) {
    std::lock_guard lock(append_mu_);
    BROOK_RETURN_IF_ERROR(check_writable());
    if (batch.size() > static_cast<std::uint64_t>(config_.max_message_bytes)) {
        return Status::error(Code::record_too_large,
                             fmt::format("a batch of {} bytes exceeds max.message.bytes = {}; send "
                                         "smaller batches or raise max.message.bytes",
                                         batch.size(), config_.max_message_bytes));
    }
    if (batch.size() < format::kBatchHeaderSize) {
        return Status::invalid_argument(
            fmt::format("{} bytes are too few for a record batch", batch.size()));
    }
    auto header = parse_batch_header(batch);
    if (!header.is_ok() || header->total_size() != batch.size() ||
        (!options.freshly_encoded && !checksum_matches(batch))) {
        return Status::invalid_argument(fmt::format(
            "the bytes handed to append are not one well-formed batch ({}); encode them with "
            "encode_batch",
            header.is_ok() ? "length or checksum mismatch" : header.status().message()));
    }

    const std::int64_t now = clock_.now_ms();
    const Offset base(end_.load(std::memory_order_relaxed));
    const Offset last = base + header->last_offset_delta;
    BROOK_ASSIGN_OR_RETURN(const auto checked, txn_.check(batch, *header));
    if (checked.duplicate_of) {
        return AppendResult{checked.duplicate_of->first_offset, checked.duplicate_of->last_offset,
                            -1, true};
    }
    // As in Kafka, segment.ms compares the incoming batch's timestamp with the segment's first
    // one, so importing old records does not roll a segment per batch.
    const std::int64_t batch_time = config_.message_timestamp_type == TimestampType::log_append_time
                                        ? now
                                        : header->max_timestamp;
    BROOK_RETURN_IF_ERROR(prepare_active_locked());
    if (appending_->should_roll(batch.size(), last, batch_time, config_)) {
        BROOK_RETURN_IF_ERROR(roll(base));
    }

    set_base_offset(batch, base);
    AppendResult result{base, last, -1};
    if (config_.message_timestamp_type == TimestampType::log_append_time) {
        set_log_append_time(batch, now);
        result.log_append_time = now;
    }
    header = parse_batch_header(batch);
    if (Status written = appending_->append(batch, *header, config_); !written.is_ok()) {
        return written.sub_code() == SubCode::fail_stopped ? fail_stop(written) : written;
    }
    unflushed_messages_ += header->record_count;
    if (options.sync || unflushed_messages_ >= config_.flush_messages ||
        now - last_flush_ms_ >= config_.flush_ms) {
        BROOK_RETURN_IF_ERROR(flush_locked());
    }
    if (Status recorded = txn_.record(*header, checked.marker, appending_->base_offset());
        !recorded.is_ok()) {
        return fail_stop(recorded);
    }
    end_.store((last + 1).value(), std::memory_order_release);
    return result;
}

Status PartitionLog::roll(Offset new_base) {
    const auto old = active();
    if (Status sealed = old->seal(IndexSync::writeback); !sealed.is_ok()) {
        return fail_stop(sealed);
    }
    BROOK_RETURN_IF_ERROR(seal_txn_index());
    auto next = Segment::create(fs_, dir_, new_base, config_);
    if (!next.is_ok()) {
        // Say the disk is full: the old segment takes appends again once there is room.
        if (Status reopened = old->unseal(config_); !reopened.is_ok()) return fail_stop(reopened);
        return next.status();
    }
    {
        std::unique_lock lock(segments_mu_);
        segments_.push_back(std::move(*next));
        appending_ = segments_.back().get();
    }
    RollCheckpoint checkpoint{new_base, txn_.producers_for_snapshot(producer_expiry_cutoff())};
    if (!wake_for_roll_checkpoint_) {
        pending_roll_checkpoint_.reset();  // an older one, left by open()
        BROOK_RETURN_IF_ERROR(write_roll_checkpoint_files(checkpoint));
        checkpointed_base_ = new_base;
        return Status::ok();
    }
    pending_roll_checkpoint_ = std::move(checkpoint);
    wake_for_roll_checkpoint_();
    return Status::ok();
}

Status PartitionLog::write_roll_checkpoint_files(const RollCheckpoint& checkpoint) {
    BROOK_RETURN_IF_ERROR(write_snapshot(fs_, dir_, checkpoint.base, checkpoint.producers));
    // Everything below the base was fsynced and sealed at the roll: recovery can start there.
    return write_checkpoint(fs_, dir_, CheckpointKind::recovery_point,
                            Checkpoint{checkpoint.base, 0});
}

void PartitionLog::defer_roll_checkpoints(std::function<void()> wake) {
    wake_for_roll_checkpoint_ = std::move(wake);
}

Status PartitionLog::write_roll_checkpoint() {
    std::lock_guard maintenance(maintenance_mu_);
    BROOK_RETURN_IF_ERROR(write_pending_roll_checkpoint());
    {
        std::lock_guard lock(append_mu_);
        if (!check_writable().is_ok()) return Status::ok();
    }
    // Segments advance_log_start() kept for this checkpoint, or that a crash or close left below
    // the start, go now.
    return remove_segments_below_start().status();
}

Status PartitionLog::write_pending_roll_checkpoint() {
    std::optional<RollCheckpoint> pending;
    {
        std::lock_guard lock(append_mu_);
        if (closed_) return Status::ok();
        pending.swap(pending_roll_checkpoint_);
    }
    if (!pending) return Status::ok();
    Status written = write_roll_checkpoint_files(*pending);
    std::lock_guard lock(append_mu_);
    if (written.is_ok()) {
        checkpointed_base_ = pending->base;
    } else if (!pending_roll_checkpoint_) {
        pending_roll_checkpoint_ = std::move(pending);
    }
    return written;
}

Status PartitionLog::flush() {
    std::lock_guard lock(append_mu_);
    BROOK_RETURN_IF_ERROR(check_writable());
    return flush_locked();
}

Status PartitionLog::flush_locked() {
    if (Status synced = active()->sync(); !synced.is_ok()) return fail_stop(synced);
    unflushed_messages_ = 0;
    last_flush_ms_ = clock_.now_ms();
    return Status::ok();
}

Status PartitionLog::sync_to(Offset end) {
    if (end > log_end_offset()) {
        return Status::invalid_argument(fmt::format("cannot sync to offset {}: the log end is {}",
                                                    end.value(), log_end_offset().value()));
    }
    return group_commit_.sync_to(end.value(), [this]() -> Result<std::int64_t> {
        std::int64_t target = 0;
        std::shared_ptr<Segment> segment;
        {
            std::lock_guard append_lock(append_mu_);
            BROOK_RETURN_IF_ERROR(check_writable());
            target = end_.load(std::memory_order_relaxed);
            segment = active();
        }
        // Batches below `target` are in `segment` or in older segments, fsynced when they
        // rolled.
        if (Status synced = segment->sync(); !synced.is_ok()) {
            std::lock_guard append_lock(append_mu_);
            return synced.sub_code() == SubCode::fail_stopped ? synced : fail_stop(synced);
        }
        return target;
    });
}

Status PartitionLog::set_config(const LogConfig& config) {
    BROOK_RETURN_IF_ERROR(config.validate());
    std::lock_guard lock(append_mu_);
    config_ = config;
    return Status::ok();
}

Status PartitionLog::fail_stop(const Status& cause) {
    stopped_ = Status::error(
        Code::io_error,
        fmt::format("the log {} stopped after a failed write or fsync ({}); it accepts no more "
                    "appends until it is reopened, which recovers what reached the disk",
                    dir_, cause.to_string()),
        SubCode::fail_stopped);
    return stopped_;
}

Status PartitionLog::close() {
    std::lock_guard maintenance(maintenance_mu_);
    std::lock_guard lock(append_mu_);
    if (closed_) return Status::ok();
    closed_ = true;
    // A stopped log, or one that failed to open, gets no clean-shutdown marker: the next open
    // must recover it.
    if (!stopped_.is_ok() || segments_.empty() || index_fs_) return Status::ok();
    // Nothing changed the active segment since a clean open: its marker is still valid.
    if (clean_on_disk_) return Status::ok();
    if (pending_roll_checkpoint_) {
        BROOK_RETURN_IF_ERROR(write_roll_checkpoint_files(*pending_roll_checkpoint_));
        checkpointed_base_ = pending_roll_checkpoint_->base;
        pending_roll_checkpoint_.reset();
    }
    const auto segment = active();
    if (Status sealed = segment->seal(); !sealed.is_ok()) return fail_stop(sealed);
    BROOK_RETURN_IF_ERROR(seal_txn_index());
    BROOK_RETURN_IF_ERROR(txn_.write_snapshot(log_end_offset(), producer_expiry_cutoff()));
    return write_checkpoint(fs_, dir_, CheckpointKind::clean_shutdown,
                            Checkpoint{log_end_offset(), segment->size()});
}

}  // namespace brook::log

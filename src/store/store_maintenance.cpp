// StoreCore's maintenance: retention and compaction passes over every partition, the
// background thread that runs them, delete_records, and the counters describe_topic and
// Store::maintenance_stats report.
//
// A pass walks a snapshot of the topics. Each partition is maintained under its own
// cleaner_mu, so delete_records and a pass never work on one log at once, while producers
// and consumers of every partition go on. Passes themselves take turns (maintenance_mu_).
// An error in one partition is remembered and the pass goes on with the others.
#include <fmt/format.h>

#include "cleaner/cleaner_state_format.hpp"
#include "cleaner/compactor.hpp"
#include "cleaner/retention.hpp"
#include "store/store_core.hpp"
#include "txn/coordinator.hpp"

namespace brook::detail {
namespace {

Status stopping_error() {
    return Status::closed("the store is closing; maintenance stopped");
}

bool has_delete(store::CleanupPolicy policy) {
    return policy != store::CleanupPolicy::compact;
}

bool has_compact(store::CleanupPolicy policy) {
    return policy != store::CleanupPolicy::delete_segments;
}

cleaner::CompactionConfig compaction_config(const store::TopicConfig& config,
                                            const Options& options) {
    cleaner::CompactionConfig out;
    out.min_cleanable_dirty_ratio = config.min_cleanable_dirty_ratio;
    out.min_compaction_lag_ms = config.min_compaction_lag_ms;
    out.max_compaction_lag_ms = config.max_compaction_lag_ms;
    out.delete_retention_ms = config.delete_retention_ms;
    out.dedupe_buffer_bytes = static_cast<std::size_t>(options.log_cleaner_dedupe_buffer_size);
    return out;
}

}  // namespace

bool StoreCore::defers_roll_checkpoints() const noexcept {
    return !options_.read_only && options_.background_maintenance;
}

void StoreCore::start_maintenance_thread() {
    if (!defers_roll_checkpoints()) return;
    maintenance_thread_ = std::make_unique<cleaner::MaintenanceThread>(
        std::chrono::milliseconds(options_.log_retention_check_interval_ms),
        std::chrono::milliseconds(options_.log_cleaner_backoff_ms),
        std::chrono::milliseconds(options_.log_flush_offset_checkpoint_interval_ms),
        // Errors stay with the partition: its log reports them to producers and consumers.
        [this](bool retention) { maintain(retention).ignore(); },
        [this] { write_roll_checkpoints(); });
}

void StoreCore::write_roll_checkpoints() {
    std::vector<std::shared_ptr<const TopicState>> topics;
    {
        std::shared_lock lock(topics_mu_);
        for (const auto& [name, topic] : topics_) topics.push_back(topic);
    }
    for (const auto& topic : topics) {
        for (const auto& partition : topic->partitions) {
            if (stopping_.load(std::memory_order_acquire)) return;
            std::lock_guard lock(partition->cleaner_mu);
            if (partition->check_live().is_ok()) partition->log->write_roll_checkpoint().ignore();
        }
    }
}

Status StoreCore::maintain(bool retention) {
    std::lock_guard pass_lock(maintenance_mu_);
    BROOK_RETURN_IF_ERROR(check_writable());
    std::vector<std::shared_ptr<const TopicState>> topics;
    {
        std::shared_lock lock(topics_mu_);
        for (const auto& [name, topic] : topics_) topics.push_back(topic);
    }
    Status first;
    for (const auto& topic : topics) {
        for (const auto& partition : topic->partitions) {
            if (stopping_.load(std::memory_order_acquire)) return stopping_error();
            std::lock_guard lock(partition->cleaner_mu);
            if (!partition->check_live().is_ok()) continue;
            Status status = maintain_partition(*topic, *partition, retention);
            // A topic deleted meanwhile closed its logs under the pass: not an error.
            if (!partition->check_live().is_ok()) continue;
            if (!status.is_ok() && first.is_ok()) {
                first = Status::error(status.code(),
                                      fmt::format("maintenance of {}-{}: {}", partition->topic,
                                                  partition->id.value(), status.message()),
                                      status.sub_code());
            }
        }
    }
    // transaction.timeout.ms: abort what has been open too long on the store's clock.
    if (Status expired = transactions_->expire(); !expired.is_ok() && first.is_ok()) {
        first = expired;
    }
    std::lock_guard lock(stats_mu_);
    ++stats_.passes;
    stats_.last_pass_ms = clock_->now_ms();
    return first;
}

Status StoreCore::maintain_partition(const TopicState& topic, PartitionState& partition,
                                     bool retention) {
    log::PartitionLog& log = *partition.log;
    BROOK_RETURN_IF_ERROR(log.write_roll_checkpoint());
    const std::int64_t now = clock_->now_ms();
    if (retention && has_delete(topic.config.cleanup_policy)) {
        BROOK_ASSIGN_OR_RETURN(
            const auto deleted,
            cleaner::apply_retention(log, {topic.config.retention_ms, topic.config.retention_bytes},
                                     now));
        std::lock_guard lock(stats_mu_);
        stats_.bytes_deleted += deleted.bytes_deleted;
        stats_.segments_deleted += deleted.segments_deleted;
    }
    if (has_compact(topic.config.cleanup_policy)) {
        const std::string saved = partition.cleaner.encode();
        BROOK_ASSIGN_OR_RETURN(const auto compacted,
                               cleaner::compact(log, partition.cleaner,
                                                compaction_config(topic.config, options_), now));
        partition.cleaned_to.store(partition.cleaner.first_dirty().value(),
                                   std::memory_order_release);
        // Saved after the pass's swaps, and only when the pass moved it (an idle partition
        // costs no metadata write): progress lost to a crash before this only makes the next
        // pass redo work.
        if (std::string progress = partition.cleaner.encode(); progress != saved) {
            BROOK_RETURN_IF_ERROR(
                meta_->put(cleaner::format::kCleanerSpace,
                           cleaner::progress_key(topic.record.topic_id, partition.id), progress));
        }
        std::lock_guard lock(stats_mu_);
        stats_.bytes_compacted += compacted.bytes_read;
        if (compacted.bytes_read > compacted.bytes_written) {
            stats_.bytes_compacted_away += compacted.bytes_read - compacted.bytes_written;
        }
    }
    return Status::ok();
}

Result<Offset> StoreCore::delete_records(std::string_view topic, PartitionId partition,
                                         Offset before) {
    BROOK_RETURN_IF_ERROR(check_writable());
    BROOK_ASSIGN_OR_RETURN(const auto state, this->partition(topic, partition));
    std::lock_guard lock(state->cleaner_mu);
    BROOK_RETURN_IF_ERROR(state->check_live());
    const Offset end = state->log->log_end_offset();
    if (before.value() < 0 || before > end) {
        return Status::error(Code::offset_out_of_range,
                             fmt::format("cannot delete records of {}-{} before offset {}: it "
                                         "must lie between 0 and the log end offset {}",
                                         topic, partition.value(), before.value(), end.value()));
    }
    const std::size_t segments_before = state->log->segments().size();
    BROOK_ASSIGN_OR_RETURN(const std::uint64_t bytes, state->log->advance_log_start(before));
    {
        std::lock_guard stats(stats_mu_);
        stats_.bytes_deleted += bytes;
        stats_.segments_deleted += segments_before - state->log->segments().size();
    }
    return state->log->log_start_offset();
}

MaintenanceStats StoreCore::maintenance_stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
}

void StoreCore::describe_cleaning(const TopicState& topic, const PartitionState& partition,
                                  PartitionDescription& out) const {
    if (!has_compact(topic.config.cleanup_policy)) return;
    out.last_cleaned_offset = std::max(Offset(partition.cleaned_to.load(std::memory_order_acquire)),
                                       partition.log->log_start_offset());
    auto measured = cleaner::measure(*partition.log, out.last_cleaned_offset,
                                     compaction_config(topic.config, options_), clock_->now_ms());
    if (measured.is_ok()) out.dirty_ratio = measured->dirty_ratio;
}

}  // namespace brook::detail

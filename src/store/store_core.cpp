#include "store/store_core.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cleaner/cleaner_state_format.hpp"
#include "meta/format.hpp"
#include "store/store_layout.hpp"
#include "store/topic_name.hpp"
#include "txn/coordinator.hpp"

namespace brook::detail {
namespace {

constexpr const char* kMemoryRoot = "/store";

Status closed_error() {
    return Status::closed("the store is closed");
}

Status unknown_topic(std::string_view name) {
    return Status::not_found(
        fmt::format("unknown topic '{}'; create it first with Store::create_topic", name));
}

}  // namespace

Status PartitionState::check_live() const {
    if (deleted.load(std::memory_order_acquire)) {
        return Status::not_found(fmt::format("topic '{}' was deleted", topic));
    }
    return Status::ok();
}

StoreCore::~StoreCore() {
    close().ignore();
}

Status StoreCore::validate(const Options& options) {
    if (Status valid = store::validate_topic_config(options.topic_defaults); !valid.is_ok()) {
        return Status::invalid_argument("Options::topic_defaults: " + valid.message());
    }
    // The maintenance thread adds the intervals to the steady clock in nanoseconds.
    constexpr std::int64_t kMaxIntervalMs = 1'000'000'000'000;  // about 31 years
    const auto interval_ok = [](std::int64_t ms, std::int64_t least) {
        return ms >= least && ms <= kMaxIntervalMs;
    };
    if (!interval_ok(options.log_retention_check_interval_ms, 1) ||
        !interval_ok(options.log_cleaner_backoff_ms, 1) ||
        !interval_ok(options.log_flush_offset_checkpoint_interval_ms, 0) ||
        options.log_cleaner_dedupe_buffer_size < 0) {
        return Status::invalid_argument(fmt::format(
            "Options::log_retention_check_interval_ms and log_cleaner_backoff_ms must lie "
            "between 1 and {} ms, log_flush_offset_checkpoint_interval_ms between 0 and {} ms, "
            "and log_cleaner_dedupe_buffer_size must be at least 0",
            kMaxIntervalMs, kMaxIntervalMs));
    }
    if (options.max_partitions_per_topic < 1 || options.max_topics < 1) {
        return Status::invalid_argument(
            "Options::max_partitions_per_topic and Options::max_topics must be at least 1");
    }
    return Status::ok();
}

StoreCore::StoreCore(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)), clock_(options_.clock) {
    groups_ = std::make_unique<group::GroupRegistry>(group_view_);
    if (!clock_) {
        clock_ = std::shared_ptr<const Clock>(&SystemClock::instance(), [](const Clock*) {});
    }
}

Result<std::shared_ptr<StoreCore>> StoreCore::open_on(std::shared_ptr<fs::FileSystem> files,
                                                      std::string root,
                                                      std::unique_ptr<meta::MetaStore> meta,
                                                      Options options) {
    BROOK_RETURN_IF_ERROR(validate(options));
    std::shared_ptr<StoreCore> core(new StoreCore("", std::move(options)));
    core->fs_ = std::move(files);
    core->files_ = core->fs_.get();
    core->root_ = std::move(root);
    BROOK_RETURN_IF_ERROR(core->files_->create_dirs(core->root_));
    if (!core->options_.read_only) {
        BROOK_ASSIGN_OR_RETURN(
            core->lock_, core->files_->lock_file(fs::join_path(core->root_, store::kLockFile)));
    }
    core->meta_ = std::move(meta);
    BROOK_RETURN_IF_ERROR(core->load());
    return core;
}

std::unique_ptr<Store> StoreCore::make_store(std::shared_ptr<StoreCore> core) {
    return std::unique_ptr<Store>(new Store(std::move(core)));
}

Result<std::shared_ptr<StoreCore>> StoreCore::open(const std::string& path, Options options,
                                                   bool in_memory) {
    BROOK_RETURN_IF_ERROR(validate(options));
    std::shared_ptr<StoreCore> core(new StoreCore(in_memory ? "" : path, std::move(options)));
    if (in_memory) {
        core->fs_ = fs::new_memory_file_system();
        core->files_ = core->fs_.get();
        core->root_ = kMemoryRoot;
        BROOK_RETURN_IF_ERROR(core->files_->create_dirs(core->root_));
        core->meta_ = meta::new_memory_meta_store();
    } else {
        if (path.empty()) return Status::invalid_argument("the store path is empty");
        core->files_ = &fs::posix_file_system(core->options_.mmap_segment_reads);
        core->root_ = path;
        if (!core->files_->exists(path)) {
            if (core->options_.read_only) {
                return Status::not_found(fmt::format("no store at {} to open read-only", path));
            }
            if (!core->options_.create_if_missing) {
                return Status::not_found(fmt::format(
                    "no store at {}; set Options::create_if_missing to create one", path));
            }
            BROOK_RETURN_IF_ERROR(core->files_->create_dirs(path));
            BROOK_RETURN_IF_ERROR(core->files_->sync_dir(fs::parent_path(path)));
        }
        // A reader shares the store with its writer, so only writers take the lock.
        if (!core->options_.read_only) {
            BROOK_ASSIGN_OR_RETURN(core->lock_,
                                   core->files_->lock_file(fs::join_path(path, store::kLockFile)));
        }
        meta::MetaOptions meta_options;
        meta_options.read_only = core->options_.read_only;
        BROOK_ASSIGN_OR_RETURN(
            core->meta_,
            meta::open_lmdb_meta_store(fs::join_path(path, store::kMetaDir), meta_options));
    }
    BROOK_RETURN_IF_ERROR(core->load());
    core->start_maintenance_thread();
    return core;
}

Status StoreCore::check_meta_matches_data(const std::vector<meta::TopicRecord>& records) {
    BROOK_ASSIGN_OR_RETURN(const auto marker,
                           meta_->get(meta::format::kStoreSpace, meta::format::kStoreCreatedKey));
    if (marker) return Status::ok();
    // No marker: a new store, a store made before the marker existed, or lost metadata.
    if (records.empty() && files_->exists(fs::join_path(root_, store::kTopicsDir))) {
        BROOK_ASSIGN_OR_RETURN(const auto partitions,
                               files_->list_dir(fs::join_path(root_, store::kTopicsDir)));
        if (!partitions.empty()) {
            return Status::corruption(fmt::format(
                "the metadata in {} has no record of this store, but {} holds {} partition "
                "directories (such as '{}'): the metadata file was emptied or replaced. Restore "
                "{} from a backup; brook will not guess the topics",
                fs::join_path(root_, store::kMetaDir), fs::join_path(root_, store::kTopicsDir),
                partitions.size(), partitions.front(), fs::join_path(root_, store::kMetaDir)));
        }
    }
    if (options_.read_only) return Status::ok();
    return meta_->put(meta::format::kStoreSpace, meta::format::kStoreCreatedKey, "1");
}

Status StoreCore::load() {
    BROOK_ASSIGN_OR_RETURN(const auto records, meta_->list_topics());
    BROOK_RETURN_IF_ERROR(check_meta_matches_data(records));
    if (!options_.read_only) {
        BROOK_RETURN_IF_ERROR(files_->create_dirs(fs::join_path(root_, store::kTopicsDir)));
        BROOK_RETURN_IF_ERROR(files_->sync_dir(root_));
    }
    for (const auto& record : records) {
        BROOK_ASSIGN_OR_RETURN(auto state, load_topic(record, nullptr));
        topics_.emplace(record.name, std::move(state));
    }
    transactions_ = std::make_unique<txn::Coordinator>(txn_view_);
    // Transactions a crash left open or half-completed are settled before anyone reads.
    if (!options_.read_only) BROOK_RETURN_IF_ERROR(transactions_->recover());
    return Status::ok();
}

Result<std::shared_ptr<TopicState>> StoreCore::load_topic(const meta::TopicRecord& record,
                                                          const TopicState* known) const {
    // The name becomes part of the partition directories' paths: never trust it from disk.
    if (const Status valid = store::validate_topic_name(record.name); !valid.is_ok()) {
        return Status::corruption(fmt::format(
            "the metadata in {} holds a topic that is not a valid topic name ({}); restore {} "
            "from a backup",
            fs::join_path(root_, store::kMetaDir), valid.message(),
            fs::join_path(root_, store::kMetaDir)));
    }
    // The partition count sizes what is opened and allocated: bounded by the configured limit.
    if (record.partitions < 1 || record.partitions > options_.max_partitions_per_topic) {
        return Status::corruption(fmt::format(
            "the metadata in {} gives topic '{}' {} partitions, outside 1 to {} "
            "(Options::max_partitions_per_topic); raise that limit if the store was written with "
            "a higher one, else restore {} from a backup",
            fs::join_path(root_, store::kMetaDir), record.name, record.partitions,
            options_.max_partitions_per_topic, fs::join_path(root_, store::kMetaDir)));
    }
    auto state = std::make_shared<TopicState>();
    state->record = record;
    BROOK_ASSIGN_OR_RETURN(state->config,
                           store::resolve_topic_config(options_.topic_defaults, record.overrides,
                                                       &state->config_entries));
    for (std::int32_t p = 0; p < record.partitions; ++p) {
        if (known && p < known->partition_count()) {
            state->partitions.push_back(known->partitions[static_cast<std::size_t>(p)]);
            continue;
        }
        BROOK_ASSIGN_OR_RETURN(auto partition,
                               open_partition(record, PartitionId(p), state->config));
        state->partitions.push_back(std::move(partition));
    }
    return state;
}

Status StoreCore::refresh() {
    std::lock_guard admin(admin_mu_);
    BROOK_RETURN_IF_ERROR(check_open());
    BROOK_ASSIGN_OR_RETURN(const auto records, meta_->list_topics());
    std::map<std::string, std::shared_ptr<const TopicState>, std::less<>> next;
    {
        std::shared_lock lock(topics_mu_);
        for (const auto& record : records) {
            auto it = topics_.find(record.name);
            const bool same = it != topics_.end() && it->second->record == record;
            if (same) {
                next.emplace(record.name, it->second);
                continue;
            }
            // New, recreated, altered or grown: keep the partitions of the same incarnation.
            const bool known =
                it != topics_.end() && it->second->record.topic_id == record.topic_id;
            BROOK_ASSIGN_OR_RETURN(auto state,
                                   load_topic(record, known ? it->second.get() : nullptr));
            const log::LogConfig log_config = store::to_log_config(state->config);
            for (const auto& partition : state->partitions) {
                BROOK_RETURN_IF_ERROR(partition->log->set_config(log_config));
            }
            next.emplace(record.name, std::move(state));
        }
    }
    bool changed = false;
    {
        std::unique_lock lock(topics_mu_);
        for (const auto& [name, state] : topics_) {
            auto it = next.find(name);
            if (it != next.end() && it->second->record.topic_id == state->record.topic_id) continue;
            for (const auto& partition : state->partitions) {
                partition->deleted.store(true, std::memory_order_release);
            }
        }
        changed = next != topics_;
        topics_.swap(next);
    }
    for (const auto& [name, state] : topics_) {
        for (const auto& partition : state->partitions) {
            BROOK_ASSIGN_OR_RETURN(const bool moved, partition->log->refresh());
            changed = changed || moved;
        }
    }
    if (changed) notify_change();
    return Status::ok();
}

std::string StoreCore::partition_dir(std::string_view topic, PartitionId id) const {
    return store::partition_dir(root_, topic, id);
}

Result<std::shared_ptr<PartitionState>> StoreCore::open_partition(
    const meta::TopicRecord& record, PartitionId id, const store::TopicConfig& config) const {
    auto state = std::make_shared<PartitionState>();
    state->topic = record.name;
    state->id = id;
    const std::string dir = partition_dir(record.name, id);
    const log::LogConfig log_config = store::to_log_config(config);
    BROOK_ASSIGN_OR_RETURN(state->log,
                           options_.read_only
                               ? log::PartitionLog::open_follower(*files_, dir, log_config, *clock_)
                               : log::PartitionLog::open(*files_, dir, log_config, *clock_));
    if (defers_roll_checkpoints()) {
        // The thread starts once load() is done; a roll during load() (a transaction's marker
        // written at open) leaves its checkpoint to the first pass or to close().
        state->log->defer_roll_checkpoints([this] {
            if (maintenance_thread_) maintenance_thread_->request_checkpoints();
        });
    }
    BROOK_ASSIGN_OR_RETURN(
        const auto progress,
        meta_->get(cleaner::format::kCleanerSpace, cleaner::progress_key(record.topic_id, id)));
    // Progress only saves work: a damaged or newer record is dropped, which makes the log
    // look wholly dirty and keeps tombstones longer, never shorter.
    auto saved = progress ? cleaner::CleanerState::decode(*progress) : cleaner::CleanerState();
    if (saved.is_ok()) {
        state->cleaner = std::move(saved).value();
        state->cleaner.limit_to(state->log->log_end_offset());
        state->cleaner.clamp_to(state->log->log_start_offset());
        state->cleaned_to.store(state->cleaner.first_dirty().value(), std::memory_order_release);
    }
    return state;
}

Status StoreCore::check_open() const {
    return closed_.load(std::memory_order_acquire) ? closed_error() : Status::ok();
}

Status StoreCore::close() {
    // The maintenance thread stops first (after the partition it is on): it must not start on a
    // log being closed.
    stopping_.store(true, std::memory_order_release);
    if (maintenance_thread_) maintenance_thread_->stop();
    std::lock_guard admin(admin_mu_);
    if (closed_.exchange(true)) return Status::ok();
    Status first;
    {
        std::unique_lock lock(topics_mu_);
        for (const auto& [name, topic] : topics_) {
            for (const auto& partition : topic->partitions) {
                Status closed = partition->log->close();
                if (first.is_ok() && !closed.is_ok()) first = closed;
            }
        }
    }
    notify_change();
    groups_->close();
    meta_.reset();
    lock_.reset();
    return first;
}

std::shared_ptr<const TopicState> StoreCore::find_topic(std::string_view name) const {
    std::shared_lock lock(topics_mu_);
    auto it = topics_.find(name);
    return it == topics_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<const TopicState>> StoreCore::topic(std::string_view name) {
    BROOK_RETURN_IF_ERROR(check_open());
    auto found = find_topic(name);
    if (!found && options_.read_only) {
        BROOK_RETURN_IF_ERROR(refresh());
        found = find_topic(name);
    }
    if (!found) return unknown_topic(name);
    return found;
}

Result<std::shared_ptr<PartitionState>> StoreCore::partition(std::string_view topic_name,
                                                             PartitionId partition) {
    BROOK_ASSIGN_OR_RETURN(const auto topic, this->topic(topic_name));
    if (partition.value() < 0 || partition.value() >= topic->partition_count()) {
        return Status::not_found(fmt::format("topic '{}' has no partition {}; it has {}",
                                             topic_name, partition.value(),
                                             topic->partition_count()));
    }
    return topic->partitions[static_cast<std::size_t>(partition.value())];
}

Result<log::AppendResult> StoreCore::append(PartitionState& partition, std::span<std::byte> batch,
                                            bool durable, const log::AppendOptions& options) {
    BROOK_RETURN_IF_ERROR(check_open());
    BROOK_RETURN_IF_ERROR(partition.check_live());
    auto appended = partition.log->append(batch, options);
    if (!appended.is_ok()) {
        // A log closed by delete_topic under our feet reads as the deletion it is.
        BROOK_RETURN_IF_ERROR(partition.check_live());
        return appended.status();
    }
    notify_change();
    if (durable) BROOK_RETURN_IF_ERROR(partition.log->sync_to(appended->last_offset + 1));
    return appended;
}

void StoreCore::notify_change() {
    changes_.notify();
}

void StoreCore::wait_for_change(std::uint64_t seen, std::chrono::steady_clock::time_point deadline,
                                const std::atomic<bool>& stop, store::SpinBudget& spin) {
    changes_.wait(seen, deadline, stop, closed_, spin);
    // A reader's writer is another process, which cannot wake it: look at the files instead.
    // A failed refresh shows up again where the consumer reads the partition.
    if (options_.read_only) refresh().ignore();
}

}  // namespace brook::detail

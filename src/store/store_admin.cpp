// StoreCore's admin operations: creating, altering, growing and deleting topics.
//
// Admin operations are serialised by admin_mu_. Each one updates the metadata store and the
// partition logs, then publishes a new immutable TopicState, so clients holding the old
// snapshot are never disturbed mid-call.
#include <fmt/format.h>

#include <algorithm>

#include "cleaner/cleaner_state_format.hpp"
#include "store/store_core.hpp"
#include "store/topic_name.hpp"

namespace brook::detail {

Status StoreCore::check_writable() const {
    BROOK_RETURN_IF_ERROR(check_open());
    if (options_.read_only) {
        return Status::invalid_argument("the store was opened read_only; it cannot be changed");
    }
    return Status::ok();
}

void StoreCore::publish(const std::string& name, std::shared_ptr<const TopicState> state) {
    {
        std::unique_lock lock(topics_mu_);
        if (state) {
            topics_[name] = std::move(state);
        } else {
            topics_.erase(name);
        }
    }
    topology_version_.fetch_add(1, std::memory_order_acq_rel);
    notify_change();
}

Status StoreCore::remove_partition_dir(const std::string& dir) {
    if (!files_->exists(dir)) return Status::ok();
    BROOK_ASSIGN_OR_RETURN(const auto names, files_->list_dir(dir));
    for (const auto& name : names)
        BROOK_RETURN_IF_ERROR(files_->remove_file(fs::join_path(dir, name)));
    BROOK_RETURN_IF_ERROR(files_->remove_dir(dir));
    return files_->sync_dir(fs::parent_path(dir));
}

Status StoreCore::create_topic(std::string_view name, std::int32_t partitions,
                               const Config& config) {
    std::lock_guard admin(admin_mu_);
    BROOK_RETURN_IF_ERROR(check_writable());
    BROOK_RETURN_IF_ERROR(store::validate_topic_name(name));
    if (partitions < 1 || partitions > options_.max_partitions_per_topic) {
        return Status::invalid_argument(
            fmt::format("topic '{}': {} partitions requested; a topic has 1 to {} partitions "
                        "(Options::max_partitions_per_topic)",
                        name, partitions, options_.max_partitions_per_topic));
    }
    {
        std::shared_lock lock(topics_mu_);
        if (topics_.contains(name)) {
            return Status::already_exists(fmt::format("topic '{}' already exists", name));
        }
        if (topics_.size() >= static_cast<std::size_t>(options_.max_topics)) {
            return Status::invalid_argument(
                fmt::format("the store already has {} topics, the limit set by Options::max_topics",
                            topics_.size()));
        }
    }
    auto state = std::make_shared<TopicState>();
    state->record.name = std::string(name);
    state->record.partitions = partitions;
    for (const auto& [key, value] : config) {
        BROOK_ASSIGN_OR_RETURN(state->record.overrides[key], store::canonical_value(key, value));
    }
    BROOK_ASSIGN_OR_RETURN(
        state->config, store::resolve_topic_config(options_.topic_defaults, state->record.overrides,
                                                   &state->config_entries));
    BROOK_ASSIGN_OR_RETURN(state->record.topic_id, meta_->allocate_id());
    for (std::int32_t p = 0; p < partitions; ++p) {
        // Data left by a topic of the same name whose deletion was interrupted is stale.
        BROOK_RETURN_IF_ERROR(remove_partition_dir(partition_dir(name, PartitionId(p))));
        BROOK_ASSIGN_OR_RETURN(auto partition,
                               open_partition(state->record, PartitionId(p), state->config));
        state->partitions.push_back(std::move(partition));
    }
    BROOK_RETURN_IF_ERROR(meta_->put_topic(state->record));
    const std::string topic_name = state->record.name;
    publish(topic_name, std::move(state));
    return Status::ok();
}

Result<std::vector<std::string>> StoreCore::list_topics() {
    BROOK_RETURN_IF_ERROR(check_open());
    if (options_.read_only) BROOK_RETURN_IF_ERROR(refresh());
    std::shared_lock lock(topics_mu_);
    std::vector<std::string> names;
    names.reserve(topics_.size());
    for (const auto& [name, topic] : topics_) names.push_back(name);
    return names;
}

Result<TopicDescription> StoreCore::describe_topic(std::string_view name) {
    if (options_.read_only) BROOK_RETURN_IF_ERROR(refresh());
    BROOK_ASSIGN_OR_RETURN(const auto state, topic(name));
    TopicDescription description;
    description.name = state->record.name;
    description.config = state->config_entries;
    for (const auto& partition : state->partitions) {
        const auto segments = partition->log->segments();
        std::uint64_t bytes = 0;
        for (const auto& segment : segments) bytes += segment.size_bytes;
        description.partitions.push_back({partition->id, partition->log->log_start_offset(),
                                          partition->log->log_end_offset(), segments.size(),
                                          bytes});
        describe_cleaning(*state, *partition, description.partitions.back());
    }
    return description;
}

Status StoreCore::alter_topic_config(std::string_view name, const Config& config) {
    std::lock_guard admin(admin_mu_);
    BROOK_RETURN_IF_ERROR(check_writable());
    BROOK_ASSIGN_OR_RETURN(const auto current, topic(name));
    auto state = std::make_shared<TopicState>(*current);
    for (const auto& [key, value] : config) {
        if (value.empty()) {
            // An empty value removes the override; the key must still be a real one.
            const auto& keys = store::topic_config_keys();
            if (std::none_of(keys.begin(), keys.end(),
                             [&wanted = key](const auto& k) { return k.name == wanted; })) {
                return Status::invalid_argument(fmt::format("unknown topic config '{}'", key));
            }
            state->record.overrides.erase(key);
        } else {
            BROOK_ASSIGN_OR_RETURN(state->record.overrides[key],
                                   store::canonical_value(key, value));
        }
    }
    BROOK_ASSIGN_OR_RETURN(
        state->config, store::resolve_topic_config(options_.topic_defaults, state->record.overrides,
                                                   &state->config_entries));
    const log::LogConfig log_config = store::to_log_config(state->config);
    BROOK_RETURN_IF_ERROR(meta_->put_topic(state->record));
    for (const auto& partition : state->partitions) {
        BROOK_RETURN_IF_ERROR(partition->log->set_config(log_config));
    }
    const std::string topic_name = state->record.name;
    publish(topic_name, std::move(state));
    return Status::ok();
}

Status StoreCore::add_partitions(std::string_view name, std::int32_t new_total) {
    std::lock_guard admin(admin_mu_);
    BROOK_RETURN_IF_ERROR(check_writable());
    BROOK_ASSIGN_OR_RETURN(const auto current, topic(name));
    if (new_total <= current->partition_count() || new_total > options_.max_partitions_per_topic) {
        return Status::invalid_argument(fmt::format(
            "topic '{}' has {} partitions; add_partitions needs a larger total, at most {}", name,
            current->partition_count(), options_.max_partitions_per_topic));
    }
    auto state = std::make_shared<TopicState>(*current);
    state->record.partitions = new_total;
    for (std::int32_t p = current->partition_count(); p < new_total; ++p) {
        BROOK_RETURN_IF_ERROR(remove_partition_dir(partition_dir(name, PartitionId(p))));
        BROOK_ASSIGN_OR_RETURN(auto partition,
                               open_partition(state->record, PartitionId(p), state->config));
        state->partitions.push_back(std::move(partition));
    }
    BROOK_RETURN_IF_ERROR(meta_->put_topic(state->record));
    const std::string topic_name = state->record.name;
    publish(topic_name, std::move(state));
    return Status::ok();
}

Status StoreCore::delete_topic(std::string_view name) {
    std::lock_guard admin(admin_mu_);
    BROOK_RETURN_IF_ERROR(check_writable());
    BROOK_ASSIGN_OR_RETURN(const auto current, topic(name));
    BROOK_RETURN_IF_ERROR(meta_->delete_topic(name));
    publish(current->record.name, nullptr);
    for (const auto& partition : current->partitions) {
        partition->deleted.store(true, std::memory_order_release);
        partition->log->close().ignore();  // its files go next; a failed close loses nothing
        BROOK_RETURN_IF_ERROR(remove_partition_dir(partition_dir(name, partition->id)));
    }
    BROOK_ASSIGN_OR_RETURN(const auto progress,
                           meta_->scan(cleaner::format::kCleanerSpace,
                                       cleaner::progress_key_prefix(current->record.topic_id)));
    for (const auto& [key, value] : progress) {
        BROOK_RETURN_IF_ERROR(meta_->remove(cleaner::format::kCleanerSpace, key));
    }
    // As in Kafka, consumer groups' offsets go with the topic.
    return groups_->with_offsets(
        [&](group::OffsetTable& table) { return table.remove_topic(name); });
}

}  // namespace brook::detail

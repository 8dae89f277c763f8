#include "group/group_registry.hpp"

#include <algorithm>

#include "store/store_core.hpp"

namespace brook::group {

Result<std::shared_ptr<Group>> GroupRegistry::get(std::string_view group_id) {
    BROOK_RETURN_IF_ERROR(validate_group_id(group_id));
    std::lock_guard lock(mu_);
    auto it = groups_.find(group_id);
    if (it == groups_.end()) {
        it = groups_
                 .emplace(std::string(group_id),
                          std::make_shared<Group>(std::string(group_id), *this))
                 .first;
    }
    return it->second;
}

std::shared_ptr<Group> GroupRegistry::find(std::string_view group_id) const {
    std::lock_guard lock(mu_);
    auto it = groups_.find(group_id);
    return it == groups_.end() ? nullptr : it->second;
}

std::vector<std::string> GroupRegistry::ids() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [id, group] : groups_) out.push_back(id);
    return out;
}

void GroupRegistry::forget(std::string_view group_id) {
    std::lock_guard lock(mu_);
    auto it = groups_.find(group_id);
    if (it != groups_.end()) groups_.erase(it);
}

Status GroupRegistry::with_offsets(const std::function<Status(OffsetTable&)>& use) {
    std::shared_lock lock(closing_);
    if (closed_) return Status::closed("the store is closed");
    BROOK_RETURN_IF_ERROR(core_.check_open());
    OffsetTable table(core_.meta());
    return use(table);
}

Result<PartitionCounts> GroupRegistry::partition_counts() {
    BROOK_ASSIGN_OR_RETURN(const auto names, core_.list_topics());
    PartitionCounts counts;
    for (const auto& name : names) {
        auto topic = core_.topic(name);
        if (topic.code() == Code::not_found) continue;  // deleted meanwhile
        if (!topic) return topic.status();
        counts.emplace(name, (*topic)->partition_count());
    }
    return counts;
}

Status GroupRegistry::check_partition(const TopicPartition& partition) {
    return core_.partition(partition.topic, partition.partition).status();
}

Status GroupRegistry::sync_below(const TopicPartition& partition, Offset end) {
    BROOK_ASSIGN_OR_RETURN(auto state, core_.partition(partition.topic, partition.partition));
    return state->log->sync_to(std::min(end, state->log->log_end_offset()));
}

std::uint64_t GroupRegistry::topology_version() const {
    return core_.topology_version();
}

std::int64_t GroupRegistry::now_ms() const {
    return core_.clock().now_ms();
}

void GroupRegistry::notify() {
    core_.notify_change();
}

void GroupRegistry::close() {
    std::unique_lock lock(closing_);
    closed_ = true;
}

}  // namespace brook::group

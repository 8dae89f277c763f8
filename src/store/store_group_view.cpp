#include "store/store_group_view.hpp"

#include <algorithm>

#include "store/store_core.hpp"

namespace brook::detail {

Status StoreGroupView::check_open() const {
    return core_.check_open();
}

meta::MetaStore& StoreGroupView::meta() {
    return core_.meta();
}

Result<group::PartitionCounts> StoreGroupView::partition_counts() {
    BROOK_ASSIGN_OR_RETURN(const auto names, core_.list_topics());
    group::PartitionCounts counts;
    for (const auto& name : names) {
        auto topic = core_.topic(name);
        if (topic.code() == Code::not_found) continue;  // deleted meanwhile
        if (!topic) return topic.status();
        counts.emplace(name, (*topic)->partition_count());
    }
    return counts;
}

Status StoreGroupView::sync_below(const TopicPartition& partition, Offset end) {
    BROOK_ASSIGN_OR_RETURN(auto state, core_.partition(partition.topic, partition.partition));
    return state->log->sync_to(std::min(end, state->log->log_end_offset()));
}

std::uint64_t StoreGroupView::topology_version() const {
    return core_.topology_version();
}

void StoreGroupView::notify() {
    core_.notify_change();
}

}  // namespace brook::detail

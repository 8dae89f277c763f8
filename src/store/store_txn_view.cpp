#include "store/store_txn_view.hpp"

#include "store/store_core.hpp"

namespace brook::detail {

std::int64_t StoreTxnView::now_ms() const {
    return core_.clock().now_ms();
}

meta::MetaStore& StoreTxnView::meta() {
    return core_.meta();
}

group::GroupRegistry& StoreTxnView::groups() {
    return core_.groups();
}

txn::Coordinator& StoreTxnView::transactions() {
    return core_.transactions();
}

Result<std::shared_ptr<log::PartitionLog>> StoreTxnView::partition_log(
    const TopicPartition& partition) {
    BROOK_ASSIGN_OR_RETURN(auto state, core_.partition(partition.topic, partition.partition));
    log::PartitionLog* log = state->log.get();
    return std::shared_ptr<log::PartitionLog>(std::move(state), log);
}

Result<Offset> StoreTxnView::append_control(const TopicPartition& partition,
                                            std::span<std::byte> batch) {
    BROOK_ASSIGN_OR_RETURN(auto state, core_.partition(partition.topic, partition.partition));
    BROOK_ASSIGN_OR_RETURN(const auto appended, core_.append(*state, batch, false));
    return appended.last_offset + 1;
}

Status StoreTxnView::for_each_partition(
    const std::function<Status(const TopicPartition&, log::PartitionLog&)>& visit) {
    BROOK_ASSIGN_OR_RETURN(const auto names, core_.list_topics());
    for (const auto& name : names) {
        auto topic = core_.topic(name);
        if (topic.code() == Code::not_found) continue;  // deleted meanwhile
        BROOK_RETURN_IF_ERROR(topic.status());
        for (const auto& partition : (*topic)->partitions) {
            BROOK_RETURN_IF_ERROR(visit({name, partition->id}, *partition->log));
        }
    }
    return Status::ok();
}

}  // namespace brook::detail

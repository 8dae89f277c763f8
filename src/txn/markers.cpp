#include "txn/markers.hpp"

#include <vector>

#include "log/control_batch.hpp"
#include "store/store_core.hpp"

namespace brook::txn {
namespace {

Result<Offset> append_marker(detail::StoreCore& core, detail::PartitionState& partition,
                             std::int64_t producer_id, std::int16_t epoch, bool commit) {
    BROOK_ASSIGN_OR_RETURN(
        auto bytes,
        log::encode_control_batch(producer_id, epoch,
                                  commit ? log::ControlType::commit : log::ControlType::abort,
                                  core.clock().now_ms()));
    BROOK_ASSIGN_OR_RETURN(const auto appended, core.append(partition, bytes, false));
    return appended.last_offset + 1;
}

}  // namespace

Status write_markers(detail::StoreCore& core, const TxnRecord& record, bool commit) {
    std::vector<std::pair<std::shared_ptr<detail::PartitionState>, Offset>> written;
    for (const TopicPartition& tp : record.partitions) {
        auto partition = core.partition(tp.topic, tp.partition);
        if (partition.code() == Code::not_found) continue;
        BROOK_RETURN_IF_ERROR(partition.status());
        auto end = append_marker(core, **partition, record.producer_id, record.producer_epoch,
                                 commit);
        if (end.code() == Code::not_found) continue;  // deleted meanwhile
        BROOK_RETURN_IF_ERROR(end.status());
        written.emplace_back(std::move(partition).value(), *end);
    }
    if (!commit) return Status::ok();
    // Every marker is appended before the first fsync, so each partition syncs once.
    for (const auto& [partition, end] : written) {
        BROOK_RETURN_IF_ERROR(partition->log->sync_to(end));
    }
    return Status::ok();
}

Status abort_open_transactions(detail::StoreCore& core) {
    BROOK_ASSIGN_OR_RETURN(const auto names, core.list_topics());
    for (const auto& name : names) {
        auto topic = core.topic(name);
        if (topic.code() == Code::not_found) continue;
        BROOK_RETURN_IF_ERROR(topic.status());
        for (const auto& partition : (*topic)->partitions) {
            for (const auto& open : partition->log->open_transactions()) {
                BROOK_RETURN_IF_ERROR(append_marker(core, *partition, open.producer_id,
                                                    open.producer_epoch, false)
                                          .status());
            }
        }
    }
    return Status::ok();
}

}  // namespace brook::txn

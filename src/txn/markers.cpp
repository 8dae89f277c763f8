#include "txn/markers.hpp"

#include <vector>

#include "log/control_batch.hpp"

namespace brook::txn {
namespace {

Result<Offset> append_marker(StoreView& store, const TopicPartition& partition,
                             std::int64_t producer_id, std::int16_t epoch, bool commit) {
    BROOK_ASSIGN_OR_RETURN(auto bytes, log::encode_control_batch(producer_id, epoch,
                                                                 commit ? log::ControlType::commit
                                                                        : log::ControlType::abort,
                                                                 store.now_ms()));
    return store.append_control(partition, bytes);
}

}  // namespace

Status write_markers(StoreView& store, const TxnRecord& record, bool commit) {
    std::vector<std::pair<TopicPartition, Offset>> written;
    for (const TopicPartition& tp : record.partitions) {
        auto end = append_marker(store, tp, record.producer_id, record.producer_epoch, commit);
        if (end.code() == Code::not_found) continue;  // deleted
        BROOK_RETURN_IF_ERROR(end.status());
        written.emplace_back(tp, *end);
    }
    if (!commit) return Status::ok();
    // Every marker is appended before the first fsync, so each partition syncs once.
    for (const auto& [tp, end] : written) {
        auto log = store.partition_log(tp);
        if (log.code() == Code::not_found) continue;  // deleted meanwhile
        BROOK_RETURN_IF_ERROR(log.status());
        BROOK_RETURN_IF_ERROR((*log)->sync_to(end));
    }
    return Status::ok();
}

Status abort_open_transactions(StoreView& store) {
    return store.for_each_partition([&](const TopicPartition& tp, log::PartitionLog& log) {
        for (const auto& open : log.open_transactions()) {
            BROOK_RETURN_IF_ERROR(
                append_marker(store, tp, open.producer_id, open.producer_epoch, false).status());
        }
        return Status::ok();
    });
}

}  // namespace brook::txn

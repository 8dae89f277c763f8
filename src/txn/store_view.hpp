// StoreView: what the transaction layer needs from the store it runs in, so that txn/ does not
// depend on store/ (the store implements it, store/store_txn_view.hpp).
//
// Ownership: the store owns the implementation and keeps it alive as long as its Coordinator
// and every ProducerSession. Thread safety: every method may be called from any thread.
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "group/group_registry.hpp"
#include "log/partition_log.hpp"
#include "meta/meta_store.hpp"

namespace brook::txn {

class Coordinator;

class StoreView {
  public:
    virtual ~StoreView() = default;

    // The store's clock.
    virtual std::int64_t now_ms() const = 0;
    // The metadata store that holds producer ids and transaction records.
    virtual meta::MetaStore& meta() = 0;
    // The consumer groups, for offsets sent with a transaction.
    virtual group::GroupRegistry& groups() = 0;
    // The store's coordinator. REQUIRES: the store finished opening (the coordinator exists).
    virtual Coordinator& transactions() = 0;

    // The log of a partition, kept alive by the pointer.
    // @return not_found if the topic or partition does not exist; closed.
    virtual Result<std::shared_ptr<log::PartitionLog>> partition_log(
        const TopicPartition& partition) = 0;
    // Appends an encoded control batch (a transaction marker) to a partition, waking
    // consumers that wait for data. @return the offset after it; not_found if the topic or
    // partition does not exist (or was deleted meanwhile); the log's errors.
    virtual Result<Offset> append_control(const TopicPartition& partition,
                                          std::span<std::byte> batch) = 0;
    // Calls `visit` for every partition of every topic, with its log, until it fails.
    // @return the first error of listing the topics or of `visit`.
    virtual Status for_each_partition(
        const std::function<Status(const TopicPartition&, log::PartitionLog&)>& visit) = 0;
};

}  // namespace brook::txn

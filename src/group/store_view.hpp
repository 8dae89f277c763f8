// StoreView: what the group layer needs from the store it runs in, so that group/ does not
// depend on store/ (the store implements it, store/store_group_view.hpp).
//
// Ownership: the store owns the implementation and keeps it alive as long as its
// GroupRegistry. Thread safety: every method may be called from any thread.
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>

#include "group/assignor.hpp"
#include "meta/meta_store.hpp"

namespace brook::group {

class StoreView {
  public:
    virtual ~StoreView() = default;

    // @return closed once the store is closing, or the error that fail-stopped it.
    virtual Status check_open() const = 0;
    // The metadata store that holds the offset table.
    // REQUIRES: check_open() succeeded and the store is not closed meanwhile (the registry's
    // close() waits for uses in flight).
    virtual meta::MetaStore& meta() = 0;
    // Partition counts of every topic.
    virtual Result<PartitionCounts> partition_counts() = 0;
    // Makes the partition's records below `end` (or all, if `end` is past the log end)
    // durable. @return not_found unless the partition exists; io_error if the fsync fails.
    virtual Status sync_below(const TopicPartition& partition, Offset end) = 0;
    // Moves whenever a topic is created, grown or deleted.
    virtual std::uint64_t topology_version() const = 0;
    // Wakes blocked polls.
    virtual void notify() = 0;
};

}  // namespace brook::group

// StoreGroupView: the store as its consumer groups see it (group::StoreView), over StoreCore.
//
// Ownership: StoreCore owns one, next to the GroupRegistry it is given to.
// Thread safety: as StoreCore: every method from any thread.
#pragma once

#include "group/store_view.hpp"

namespace brook::detail {

class StoreCore;

class StoreGroupView final : public group::StoreView {
  public:
    explicit StoreGroupView(StoreCore& core) : core_(core) {}

    Status check_open() const override;
    meta::MetaStore& meta() override;
    Result<group::PartitionCounts> partition_counts() override;
    Status sync_below(const TopicPartition& partition, Offset end) override;
    std::uint64_t topology_version() const override;
    void notify() override;

  private:
    StoreCore& core_;
};

}  // namespace brook::detail

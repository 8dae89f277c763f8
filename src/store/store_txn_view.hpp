// StoreTxnView: the store as its transaction layer sees it (txn::StoreView), over StoreCore.
//
// Ownership: StoreCore owns one, declared before the Coordinator it is given to.
// Thread safety: as StoreCore: every method from any thread.
#pragma once

#include "txn/store_view.hpp"

namespace brook::detail {

class StoreCore;

class StoreTxnView final : public txn::StoreView {
  public:
    explicit StoreTxnView(StoreCore& core) : core_(core) {}

    std::int64_t now_ms() const override;
    meta::MetaStore& meta() override;
    group::GroupRegistry& groups() override;
    txn::Coordinator& transactions() override;
    Result<std::shared_ptr<log::PartitionLog>> partition_log(
        const TopicPartition& partition) override;
    Result<Offset> append_control(const TopicPartition& partition,
                                  std::span<std::byte> batch) override;
    Status for_each_partition(
        const std::function<Status(const TopicPartition&, log::PartitionLog&)>& visit) override;

  private:
    StoreCore& core_;
};

}  // namespace brook::detail

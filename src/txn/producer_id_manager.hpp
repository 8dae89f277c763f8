// ProducerIdManager: hands out producer ids, unique for the life of a store.
//
// Every idempotent Producer and every transactional.id gets a producer id. Ids are reserved
// in blocks of format::kProducerIdBlockSize in the metadata store, as Kafka's coordinators
// reserve them, so allocating one costs a metadata write only once per block. A block
// reserved and not used up before the store closes (or crashes) is skipped: an id is never
// handed out twice, and ids only grow.
//
// Ownership: borrows the MetaStore, which outlives it. Thread safety: any thread.
#pragma once

#include <brook/status.hpp>
#include <cstdint>
#include <mutex>

#include "meta/meta_store.hpp"

namespace brook::txn {

class ProducerIdManager {
  public:
    explicit ProducerIdManager(meta::MetaStore& meta) : meta_(meta) {}

    // A producer id never handed out before in this store (0 on a new store).
    // @return corruption if the stored block counter is damaged; the MetaStore's errors.
    Result<std::int64_t> allocate();

  private:
    meta::MetaStore& meta_;
    std::mutex mu_;           // guards the fields below
    std::int64_t next_ = 0;   // the next id of the current block
    std::int64_t limit_ = 0;  // the end of the current block (next_ == limit_: none left)
};

}  // namespace brook::txn

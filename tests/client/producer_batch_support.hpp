// Helpers for the produce_batch() tests: reading a partition's log batch by batch, and a
// producer for a test's store.
#pragma once

#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "log/partition_log.hpp"
#include "log/record_batch.hpp"
#include "store/store_core.hpp"

namespace brook_test {

// A timestamp in the range of real ones, for records that give their own.
inline constexpr std::int64_t kNow = 1'700'000'000'000;

inline std::vector<brook::log::DecodedBatch> batches_of(brook::Store& store,
                                                        const std::string& topic, int p) {
    auto partition = store.core()->partition(topic, brook::PartitionId(p));
    REQUIRE(partition.is_ok());
    auto batches = (*partition)->log->read(brook::Offset(0), 64 << 20);
    REQUIRE_MESSAGE(batches.is_ok(), batches.status().to_string());
    return std::move(batches).value();
}

inline std::int64_t log_end(brook::Store& store, const std::string& topic, int p) {
    auto partition = store.core()->partition(topic, brook::PartitionId(p));
    REQUIRE(partition.is_ok());
    return (*partition)->log->log_end_offset().value();
}

inline brook::Producer& producer_for(brook::Store& store, std::unique_ptr<brook::Producer>& holder,
                                     const brook::Config& config) {
    auto created = brook::Producer::create(store, config);
    REQUIRE_MESSAGE(created.is_ok(), created.status().to_string());
    holder = std::move(created).value();
    return *holder;
}

}  // namespace brook_test

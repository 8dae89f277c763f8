// Control batches: the commit and abort markers that end a transaction in a partition log.
//
// A control batch has the attributes format::kControlBit | format::kTransactionalBit, the
// producer id and epoch of the transaction it ends, base sequence -1, and one record whose key
// and value are Kafka's end-transaction marker (layout in log/format.hpp and docs/format.md).
// PartitionLog::append closes the producer's open transaction when one arrives; readers never
// see its record (PartitionLog::read returns the batch with `records` empty).
//
// Thread safety: all functions here are pure and may be called from any thread.
#pragma once

#include <brook/status.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "log/record_batch.hpp"

namespace brook::log {

enum class ControlType : std::int16_t { abort = 0, commit = 1 };

struct ControlMarker {
    ControlType type = ControlType::abort;
    std::int32_t coordinator_epoch = 0;
};

// Encodes a marker for PartitionLog::append.
// @return invalid_argument if producer_id < 0 or epoch < 0.
Result<std::vector<std::byte>> encode_control_batch(std::int64_t producer_id, std::int16_t epoch,
                                                    ControlType type, std::int64_t timestamp_ms,
                                                    std::int32_t coordinator_epoch = 0);

// The marker held by a decoded control batch.
// @return corruption if the batch is not a control batch with one well-formed marker record.
Result<ControlMarker> parse_control_batch(const DecodedBatch& batch);

}  // namespace brook::log

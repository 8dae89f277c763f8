// Helpers shared by brook's engine (brook_engine.cpp) and brook's own workloads
// (brook_cases.cpp): the bench topic, the producer settings per spec, and checked opens.
// Every failure ends the case through die(), so no row is produced from a failed run.
#pragma once

#include <brook/brook.hpp>
#include <memory>
#include <span>
#include <string>

#include "engine.hpp"
#include "log/partition_log.hpp"

namespace brook::bench {

inline constexpr const char* kBenchTopic = "bench";

// The bench topic's settings: batches up to 8 MiB (a commit of 1000 records of 1 KiB).
Config bench_topic_config();

// The producer for a spec: acks=all when the spec asks for fsyncs, linger.ms=0 for the
// unbatched workload, zstd for JSON, and a batch.size that holds a whole commit batch.
Config producer_config(const Spec& spec);

std::unique_ptr<Store> open_store(const std::string& path, Options options = {});
void check(const Status& status, const std::string& what);

// Records [first, first + count) of `gen` for one produce_batch() call, as views into this
// thread's buffers, valid until the thread's next call.
std::span<const BatchRecord> fill_batch(const RecordGen& gen, std::int64_t first,
                                        std::size_t count);

// Record i of `gen` for the bench topic's partition 0, timestamped base_timestamp_ms() + i.
ProducerRecord bench_record(const RecordGen& gen, std::int64_t i);

// A partition log in `dir` on the real disk, with the bench topic's batch limit.
std::unique_ptr<log::PartitionLog> open_bench_log(const std::string& dir);

}  // namespace brook::bench

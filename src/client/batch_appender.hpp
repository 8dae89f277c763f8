// BatchAppender: how a Producer appends the sealed batches of one partition to the store.
//
// Each batch's header is written (producer id, epoch and sequence from the ProducerSession)
// and it is appended; then, with acks=all, sync_appended() fsyncs every partition they went
// to once for all of them. An in-process append either succeeds or fails for good (the topic
// was deleted, the store closed, the disk failed), so there is no retry loop. The one
// exception is a batch the log refuses as too large (its topic's max.message.bytes was
// lowered since the batch was filled, or zstd grew it): it is split in halves until each
// record succeeds or fails on its own. delivery.timeout.ms is checked when a batch is about to
// be appended: a batch that waited longer than that (behind slow appends of the same
// partition) fails with timed_out. Appended batches' buffers go back to the RecordAccumulator
// for new batches.
//
// Ownership: holds references to the Producer's store, session and accumulator, which outlive it.
// Thread safety: append_all() and sync_appended() may be called from any number of threads at
// once (the accumulator's drain() gives each partition to one thread at a time to append).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "client/record_accumulator.hpp"
#include "store/store_core.hpp"
#include "txn/producer_session.hpp"

namespace brook::client {

// What became of records [begin, end) of a batch: appended from `base` on, or failed.
struct Appended {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    Status status;
    Offset base;
    std::int64_t log_append_time = -1;
};

class BatchAppender {
  public:
    struct Settings {
        bool durable = false;  // acks=all
        std::chrono::milliseconds delivery_timeout{120000};
        std::string who;  // "producer" or "producer '<client.id>'", for messages
    };

    BatchAppender(detail::StoreCore& core, txn::ProducerSession& session,
                  RecordAccumulator& accumulator, Settings settings);

    // Appends `batches` (all for one partition key) in order.
    // @return per batch, the outcomes of its records: ranges covering [0, record count) in
    //         order, each appended or failed (timed_out, not_found, record_too_large, fenced,
    //         out_of_order_sequence, io_error, closed...).
    std::vector<std::vector<Appended>> append_all(std::vector<Batch>& batches);

    // With acks=all, fsyncs each partition `batches` were appended to up to their last
    // appended record (sharing fsyncs with other threads: PartitionLog::sync_to); a failure
    // becomes the error of every record appended there. Without, does nothing.
    void sync_appended(const std::vector<Batch>& batches,
                       std::vector<std::vector<Appended>>& results);

  private:
    void append(Batch& batch, std::vector<Appended>& out);
    void append_split(const Batch& batch, const TopicPartition& tp,
                      std::span<const log::Record> records, std::uint32_t begin, std::uint32_t end,
                      std::vector<Appended>& out);
    Result<log::AppendResult> append_bytes(const Batch& batch,
                                           Result<std::vector<std::byte>>& bytes);
    void record_outcome(const TopicPartition& tp, const txn::BatchStamp& stamp,
                        const Result<log::AppendResult>& appended, std::uint32_t begin,
                        std::uint32_t end, std::vector<Appended>& out);

    detail::StoreCore& core_;
    txn::ProducerSession& session_;
    RecordAccumulator& accumulator_;
    const Settings settings_;
};

}  // namespace brook::client

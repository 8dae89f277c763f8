#include "client/batch_appender.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "client/producer_testing.hpp"
#include "log/record_batch.hpp"

namespace brook::client {
namespace {

using std::chrono::steady_clock;

log::BatchOptions batch_options(const Batch& batch, const txn::BatchStamp& stamp) {
    return {.compression = batch.compression,
            .producer_id = stamp.producer_id,
            .producer_epoch = stamp.producer_epoch,
            .base_sequence = stamp.base_sequence,
            .transactional = stamp.transactional};
}

bool too_large(const Result<log::AppendResult>& appended) {
    return appended.code() == Code::record_too_large || appended.code() == Code::invalid_argument;
}

}  // namespace

BatchAppender::BatchAppender(detail::StoreCore& core, txn::ProducerSession& session,
                             RecordAccumulator& accumulator, Settings settings)
    : core_(core), session_(session), accumulator_(accumulator), settings_(std::move(settings)) {}

std::vector<std::vector<Appended>> BatchAppender::append_all(std::vector<Batch>& batches) {
    std::vector<std::vector<Appended>> results(batches.size());
    for (std::size_t b = 0; b < batches.size(); ++b) {
        Batch& batch = batches[b];
        if (steady_clock::now() - batch.created >= settings_.delivery_timeout) {
            const Status expired = Status::error(
                Code::timed_out,
                fmt::format("{}: a batch for {}-{} waited more than delivery.timeout.ms = {} "
                            "before it could be appended",
                            settings_.who, batch.partition->topic, batch.partition->id.value(),
                            settings_.delivery_timeout.count()));
            results[b].push_back({0, batch.records.record_count(), expired, Offset(0), -1});
        } else {
            append(batch, results[b]);
        }
    }
    return results;
}

void BatchAppender::sync_appended(const std::vector<Batch>& batches,
                                  std::vector<std::vector<Appended>>& results) {
    if (!settings_.durable) return;
    // Per partition: the end to sync to.
    struct Target {
        detail::PartitionState* partition;
        Offset end;
    };
    std::vector<Target> targets;
    for (std::size_t b = 0; b < batches.size(); ++b) {
        detail::PartitionState* p = batches[b].partition.get();
        for (const Appended& a : results[b]) {
            if (!a.status.is_ok()) continue;
            const Offset end = a.base + static_cast<std::int64_t>(a.end - a.begin);
            auto it = std::find_if(targets.begin(), targets.end(),
                                   [p](const Target& t) { return t.partition == p; });
            if (it == targets.end()) it = targets.insert(targets.end(), {p, end});
            it->end = std::max(it->end, end);
        }
    }
    for (const Target& target : targets) {
        const Status synced = target.partition->log->sync_to(target.end);
        if (synced.is_ok()) continue;
        for (std::size_t b = 0; b < batches.size(); ++b) {
            if (batches[b].partition.get() != target.partition) continue;
            for (Appended& a : results[b]) {
                if (a.status.is_ok()) a.status = synced;
            }
        }
    }
}

// Appends one encoded batch to the batch's partition, as the log answers it.
Result<log::AppendResult> BatchAppender::append_bytes(const Batch& batch,
                                                      Result<std::vector<std::byte>>& bytes) {
    // encode_batch and finish() refuse a batch above the format's hard size limit.
    if (!bytes.is_ok()) return bytes.status();
    // The bytes were just encoded here: the log need not hash them again.
    const log::AppendOptions fresh{.freshly_encoded = true};
    Result<log::AppendResult> appended =
        core_.append(*batch.partition, *bytes, /*durable=*/false, fresh);
    // A retry whose first acknowledgement was lost (tests inject it): the log knows the
    // batch by its sequence and answers with the original offsets.
    if (appended.is_ok() && client::testing::resend_batches.load(std::memory_order_relaxed)) {
        appended = core_.append(*batch.partition, *bytes, settings_.durable);
    }
    return appended;
}

// Appends the batch as encoded, or, if that is too large for the topic (its
// max.message.bytes was lowered, or zstd grew it), in halves recursively.
void BatchAppender::append(Batch& batch, std::vector<Appended>& out) {
    const TopicPartition tp{batch.partition->topic, batch.partition->id};
    const std::uint32_t count = batch.records.record_count();
    const txn::BatchStamp stamp = session_.stamp(tp);
    auto bytes = batch.records.finish(batch_options(batch, stamp));
    const Result<log::AppendResult> appended = append_bytes(batch, bytes);
    if (too_large(appended) && count > 1 && bytes.is_ok()) {
        auto decoded = log::decode_batch(*bytes);
        if (decoded.is_ok()) {
            append_split(batch, tp, decoded->records, 0, count, out);
            return;
        }
    }
    record_outcome(tp, stamp, appended, 0, count, out);
    if (bytes.is_ok()) accumulator_.recycle(std::move(bytes).value());
}

// Appends `records` [begin, end) of `batch` as one batch, or as two halves if too large.
void BatchAppender::append_split(const Batch& batch, const TopicPartition& tp,
                                 std::span<const log::Record> records, std::uint32_t begin,
                                 std::uint32_t end, std::vector<Appended>& out) {
    const txn::BatchStamp stamp = session_.stamp(tp);
    auto bytes =
        log::encode_batch(records.subspan(begin, end - begin), batch_options(batch, stamp));
    const Result<log::AppendResult> appended = append_bytes(batch, bytes);
    if (too_large(appended) && end - begin > 1) {
        const std::uint32_t middle = begin + (end - begin) / 2;
        append_split(batch, tp, records, begin, middle, out);
        append_split(batch, tp, records, middle, end, out);
        return;
    }
    record_outcome(tp, stamp, appended, begin, end, out);
}

void BatchAppender::record_outcome(const TopicPartition& tp, const txn::BatchStamp& stamp,
                                   const Result<log::AppendResult>& appended, std::uint32_t begin,
                                   std::uint32_t end, std::vector<Appended>& out) {
    if (!appended.is_ok()) {
        session_.append_failed(appended.status());
        out.push_back({begin, end, appended.status(), Offset(0), -1});
        return;
    }
    session_.appended(tp, stamp, static_cast<std::int32_t>(end - begin));
    out.push_back({begin, end, Status::ok(), appended->base_offset, appended->log_append_time});
}

}  // namespace brook::client

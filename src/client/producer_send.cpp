// Producer::Impl's way out (client/producer_impl.hpp): the sender thread, appending a
// partition's sealed batches, the fsync (acks=all) and the reports.
#include <algorithm>
#include <memory>
#include <utility>

#include "client/producer_impl.hpp"

namespace brook {

using client::Appended;
using client::Batch;
using client::PendingReport;

void Producer::Impl::run_sender() {
    while (true) {
        const std::vector<TopicPartition> due = accumulator_.wait_for_due();
        if (due.empty()) return;
        for (const TopicPartition& key : due) accumulator_.drain(key, send_fn_);
    }
}

void Producer::Impl::send_all() {
    for (const TopicPartition& key : accumulator_.seal_all()) accumulator_.drain(key, send_fn_);
}

std::function<void()> Producer::Impl::send(std::vector<Batch>& batches,
                                           client::DrainedShares& shares) {
    if (auto* hook = client::testing::before_send.load(std::memory_order_acquire)) hook();
    std::vector<std::vector<Appended>> results = appender_.append_all(batches);
    shares.give_back();
    if (config_.durable) report_sync_records(batches, results);
    if (batches.empty()) return {};
    if (config_.durable && !has_callbacks(batches)) {
        auto sent = std::make_shared<Sent>(std::move(batches), std::move(results));
        return [this, sent] { sync_and_deliver(sent->batches, sent->results); };
    }
    sync_and_deliver(batches, results);
    return {};
}

void Producer::Impl::report_sync_records(std::vector<Batch>& batches,
                                         std::vector<std::vector<Appended>>& results) {
    std::size_t kept = 0;
    for (std::size_t b = 0; b < batches.size(); ++b) {
        Batch& batch = batches[b];
        if (batch.reports.size() != 1 || !batch.reports.front().sink.sync ||
            results[b].size() != 1 || results[b].front().end != 1) {
            if (kept != b) {
                batches[kept] = std::move(batch);
                results[kept] = std::move(results[b]);
            }
            ++kept;
            continue;
        }
        PendingReport& pending = batch.reports.front();
        pending.sink.sync->set(
            client::DeliveryQueue::report_of(batch, results[b].front(), pending));
    }
    batches.resize(kept);
    results.resize(kept);
}

void Producer::Impl::sync_and_deliver(std::vector<Batch>& batches,
                                      std::vector<std::vector<Appended>>& results) {
    appender_.sync_appended(batches, results);
    for (std::size_t b = 0; b < batches.size(); ++b) delivery_.deliver(batches[b], results[b]);
    if (auto* hook = client::testing::after_report.load(std::memory_order_acquire)) hook();
}

bool Producer::Impl::has_callbacks(const std::vector<Batch>& batches) {
    return std::any_of(batches.begin(), batches.end(), [](const Batch& batch) {
        return std::any_of(batch.reports.begin(), batch.reports.end(),
                           [](const PendingReport& r) { return bool(r.sink.callback); });
    });
}

}  // namespace brook

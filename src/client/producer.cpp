// Producer and Producer::Impl: resolving each record's partition, handing it to the
// RecordAccumulator, appending sealed batches to the store, and queueing delivery reports.
//
// An in-process append either succeeds or fails for good (the topic was deleted, the store
// closed, the disk failed), so there is no retry loop: a failed append is reported at once to
// every record of the batch. The one exception is a batch larger than max.message.bytes,
// which is split in halves until each record succeeds or fails on its own merits.
// delivery.timeout.ms is checked when a batch is about to be appended: a batch that waited
// longer than that (behind slow appends of the same partition) fails with timed_out.
#include <fmt/format.h>
#include <algorithm>

#include <atomic>
#include <brook/producer.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "client/partitioner.hpp"
#include "client/producer_config.hpp"
#include "client/producer_testing.hpp"
#include "client/record_accumulator.hpp"
#include "log/format.hpp"
#include "store/store_core.hpp"
#include "txn/producer_session.hpp"

namespace brook {

std::atomic<bool> client::testing::resend_batches{false};

namespace {

using client::Batch;
using client::BatchTarget;
using client::ReportSink;
using std::chrono::steady_clock;

// The bytes of a zig-zag varint holding the non-negative `n`.
std::size_t varint_size(std::uint64_t n) noexcept {
    std::uint64_t v = n << 1;
    std::size_t bytes = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++bytes;
    }
    return bytes;
}

std::size_t nullable_size(const std::optional<std::string>& s) noexcept {
    return s ? varint_size(s->size()) + s->size() : 1;
}

// The encoded size of a record, with one-byte timestamp and offset deltas (exact for a record
// alone in its batch, and close enough for filling batches).
std::size_t record_size(const log::Record& r) noexcept {
    std::size_t body =
        3 + nullable_size(r.key) + nullable_size(r.value) + varint_size(r.headers.size());
    for (const log::Header& h : r.headers) {
        body += varint_size(h.key.size()) + h.key.size() + nullable_size(h.value);
    }
    return varint_size(body) + body;
}

log::Record to_log_record(ProducerRecord& record, std::int64_t now_ms) {
    log::Record out;
    out.key = std::move(record.key);
    out.value = std::move(record.value);
    out.timestamp = record.timestamp.value_or(now_ms);
    out.headers.reserve(record.headers.size());
    for (Header& h : record.headers) out.headers.push_back({std::move(h.key), std::move(h.value)});
    return out;
}

steady_clock::time_point deadline_after(std::chrono::milliseconds timeout) {
    // Far enough to be "never", near enough not to overflow steady_clock.
    constexpr auto kForever = std::chrono::hours(24 * 365 * 100);
    return steady_clock::now() + std::min<std::chrono::milliseconds>(timeout, kForever);
}

}  // namespace

class Producer::Impl {
  public:
    Impl(std::shared_ptr<detail::StoreCore> core, client::ProducerConfig config,
         std::unique_ptr<txn::ProducerSession> session)
        : core_(std::move(core)),
          config_(std::move(config)),
          session_(std::move(session)),
          accumulator_(config_.linger, config_.batch_size, [this](const Batch& b) { on_seal(b); }),
          sender_([this] { run_sender(); }) {}

    ~Impl() {
        accumulator_.stop();
        sender_.join();
        send_all();
    }

    Status produce(ProducerRecord record, DeliveryCallback callback) {
        BROOK_ASSIGN_OR_RETURN(Prepared p, prepare(std::move(record)));
        outstanding_.fetch_add(1, std::memory_order_relaxed);
        const bool sealed = accumulator_.add(p.key, p.target, std::move(p.record),
                                             ReportSink{std::move(callback), nullptr}, p.bytes,
                                             config_.linger.count() == 0);
        if (sealed) accumulator_.drain(p.key, send_fn_);
        return Status::ok();
    }

    Result<DeliveryReport> produce_sync(ProducerRecord record) {
        BROOK_ASSIGN_OR_RETURN(Prepared p, prepare(std::move(record)));
        auto promise = std::make_shared<std::promise<DeliveryReport>>();
        std::future<DeliveryReport> future = promise->get_future();
        accumulator_.add_alone(p.key, p.target, std::move(p.record),
                               ReportSink{{}, std::move(promise)}, p.bytes);
        // If another thread is draining this partition, it appends the record instead.
        accumulator_.drain(p.key, send_fn_);
        DeliveryReport report = future.get();
        if (!report.error.is_ok()) return report.error;
        return report;
    }

    int poll(std::chrono::milliseconds timeout) {
        const auto deadline = deadline_after(timeout);
        std::unique_lock lock(reports_mu_);
        reports_cv_.wait_until(lock, deadline,
                               [&] { return !reports_.empty() || silent_reports_ > 0; });
        return run_callbacks(lock);
    }

    Status flush(std::chrono::milliseconds timeout) {
        const auto deadline = deadline_after(timeout);
        send_all();
        std::unique_lock lock(reports_mu_);
        while (true) {
            run_callbacks(lock);
            if (outstanding_.load(std::memory_order_acquire) == 0) return Status::ok();
            const bool woke = reports_cv_.wait_until(lock, deadline, [&] {
                return !reports_.empty() || silent_reports_ > 0 ||
                       outstanding_.load(std::memory_order_acquire) == 0;
            });
            if (!woke) {
                return Status::error(
                    Code::timed_out,
                    fmt::format("{}: {} records still outstanding after flush timeout of {} ms",
                                who(), outstanding_.load(), timeout.count()));
            }
        }
    }

    std::size_t outstanding() const { return outstanding_.load(std::memory_order_acquire); }

    txn::ProducerSession& session() { return *session_; }

  private:
    struct Prepared {
        TopicPartition key;
        BatchTarget target;
        log::Record record;
        std::size_t bytes = 0;
    };
    struct QueuedReport {
        DeliveryCallback callback;
        DeliveryReport report;
    };

    std::string who() const {
        return config_.client_id.empty() ? "producer"
                                         : fmt::format("producer '{}'", config_.client_id);
    }

    // Checks the store, the topic and the record's size, and picks the record's partition.
    Result<Prepared> prepare(ProducerRecord record) {
        BROOK_RETURN_IF_ERROR(core_->check_open());
        auto topic = core_->topic(record.topic);
        if (!topic.is_ok()) {
            if (topic.code() != Code::not_found) return topic.status();
            return Status::not_found(fmt::format(
                "unknown topic '{}'; create it first with Store::create_topic", record.topic));
        }
        const detail::TopicState& state = **topic;
        if (!record.key && state.config.cleanup_policy != store::CleanupPolicy::delete_segments) {
            return Status::invalid_argument(fmt::format(
                "topic '{}' is compacted (cleanup.policy includes compact), so every record needs "
                "a key; compaction keeps the latest record per key",
                record.topic));
        }
        const std::int32_t count = state.partition_count();
        std::int32_t partition = 0;
        if (record.partition) {
            partition = record.partition->value();
            if (partition < 0 || partition >= count) {
                return Status::not_found(fmt::format(
                    "partition {} of topic '{}' does not exist; the topic has {} partitions "
                    "(0 to {})",
                    partition, record.topic, count, count - 1));
            }
        } else if (record.key) {
            partition = config_.partitioner == client::PartitionerKind::xxh3
                            ? client::xxh3_partition(*record.key, count)
                            : client::murmur2_partition(*record.key, count);
        } else {
            partition = sticky_.partition(record.topic, count);
        }

        Prepared p;
        p.key = {record.topic, PartitionId(partition)};
        BROOK_RETURN_IF_ERROR(session_->before_produce(p.key));
        p.target = {state.partitions[partition], count, compression_for(state.config)};
        p.record = to_log_record(record, core_->clock().now_ms());
        p.bytes = record_size(p.record);
        // Like Kafka's producer, judge a record by its uncompressed size alone in a batch.
        const std::size_t alone = log::format::kBatchHeaderSize + p.bytes;
        const auto limit = static_cast<std::size_t>(state.config.max_message_bytes);
        if (alone > limit) {
            return Status::error(
                Code::record_too_large,
                fmt::format(
                    "a record of {} bytes (as a batch of its own) exceeds max.message.bytes "
                    "= {} of topic '{}'; send a smaller record or raise max.message.bytes",
                    alone, limit, record.topic));
        }
        return p;
    }

    log::Compression compression_for(const store::TopicConfig& topic) const {
        switch (topic.compression_type) {
            case store::CompressionType::zstd:
                return log::Compression::zstd;
            case store::CompressionType::uncompressed:
                return log::Compression::none;
            case store::CompressionType::producer:
                break;
        }
        return config_.compression;
    }

    void on_seal(const Batch& batch) {
        sticky_.on_new_batch(batch.partition->topic, batch.partition->id.value(),
                             batch.partition_count);
    }

    void run_sender() {
        while (true) {
            const std::vector<TopicPartition> due = accumulator_.wait_for_due();
            if (due.empty()) return;
            for (const TopicPartition& key : due) accumulator_.drain(key, send_fn_);
        }
    }

    void send_all() {
        for (const TopicPartition& key : accumulator_.seal_all()) accumulator_.drain(key, send_fn_);
    }

    // Appends sealed batches of one partition key, in order, then (acks=all) fsyncs once for
    // all of them: the group commit of every produce_sync() caller queued meanwhile. Reports
    // every record.
    void send(std::vector<Batch>& batches) {
        std::vector<std::vector<DeliveryReport>> reports(batches.size());
        for (std::size_t b = 0; b < batches.size(); ++b) {
            Batch& batch = batches[b];
            reports[b].resize(batch.records.size());
            if (steady_clock::now() - batch.created >= config_.delivery_timeout) {
                const Status expired = Status::error(
                    Code::timed_out,
                    fmt::format("{}: a batch for {}-{} waited more than delivery.timeout.ms = {} "
                                "before it could be appended",
                                who(), batch.partition->topic, batch.partition->id.value(),
                                config_.delivery_timeout.count()));
                for (DeliveryReport& r : reports[b]) r.error = expired;
            } else {
                append(batch, 0, batch.records.size(), reports[b]);
            }
        }
        if (config_.durable) sync_appended(batches, reports);
        for (std::size_t b = 0; b < batches.size(); ++b) deliver(batches[b], std::move(reports[b]));
    }

    // fsyncs each partition the batches went to up to their last appended record; a failure
    // becomes the error of every record appended there.
    void sync_appended(const std::vector<Batch>& batches,
                       std::vector<std::vector<DeliveryReport>>& reports) {
        std::vector<std::pair<detail::PartitionState*, Offset>> ends;
        for (std::size_t b = 0; b < batches.size(); ++b) {
            for (const DeliveryReport& r : reports[b]) {
                if (!r.error.is_ok()) continue;
                detail::PartitionState* p = batches[b].partition.get();
                auto it = std::find_if(ends.begin(), ends.end(),
                                       [p](const auto& e) { return e.first == p; });
                if (it == ends.end()) {
                    ends.emplace_back(p, r.offset + 1);
                } else {
                    it->second = std::max(it->second, r.offset + 1);
                }
            }
        }
        for (const auto& [partition, end] : ends) {
            const Status synced = partition->log->sync_to(end);
            if (synced.is_ok()) continue;
            for (std::size_t b = 0; b < batches.size(); ++b) {
                if (batches[b].partition.get() != partition) continue;
                for (DeliveryReport& r : reports[b]) {
                    if (r.error.is_ok()) r.error = synced;
                }
            }
        }
    }

    // Appends records [begin, end) of `batch` as one batch, or, if that is too large for the
    // topic, as two halves recursively. Fills in their reports' offsets, timestamps or errors.
    void append(Batch& batch, std::size_t begin, std::size_t end,
                std::vector<DeliveryReport>& reports) {
        const std::span<const log::Record> records(batch.records.data() + begin, end - begin);
        const TopicPartition tp{batch.partition->topic, batch.partition->id};
        const txn::BatchStamp stamp = session_->stamp(tp);
        auto bytes = log::encode_batch(records, {.compression = batch.compression,
                                                 .producer_id = stamp.producer_id,
                                                 .producer_epoch = stamp.producer_epoch,
                                                 .base_sequence = stamp.base_sequence,
                                                 .transactional = stamp.transactional});
        // encode_batch refuses a batch above the format's hard size limit as invalid_argument.
        Result<log::AppendResult> appended =
            bytes.is_ok() ? core_->append(*batch.partition, *bytes, /*durable=*/false)
                          : Result<log::AppendResult>(bytes.status());
        // A retry whose first acknowledgement was lost (tests inject it): the log knows the
        // batch by its sequence and answers with the original offsets.
        if (appended.is_ok() && client::testing::resend_batches.load(std::memory_order_relaxed)) {
            appended = core_->append(*batch.partition, *bytes, config_.durable);
        }
        const bool too_large =
            appended.code() == Code::record_too_large || bytes.code() == Code::invalid_argument;
        if (too_large && records.size() > 1) {
            const std::size_t middle = begin + records.size() / 2;
            append(batch, begin, middle, reports);
            append(batch, middle, end, reports);
            return;
        }
        if (appended.is_ok()) {
            session_->appended(tp, stamp, static_cast<std::int32_t>(records.size()));
        } else {
            session_->append_failed(appended.status());
        }
        for (std::size_t i = begin; i < end; ++i) {
            if (!appended.is_ok()) {
                reports[i].error = appended.status();
                continue;
            }
            reports[i].offset = appended->base_offset + static_cast<std::int64_t>(i - begin);
            reports[i].timestamp = appended->log_append_time != -1 ? appended->log_append_time
                                                                   : batch.records[i].timestamp;
        }
    }

    // Hands each report to its produce_sync() caller or queues it for its callback.
    // A record produced without a callback gets no report object: it is only counted, and
    // served (taken off outstanding()) by the next poll() or flush() like the others.
    void deliver(Batch& batch, std::vector<DeliveryReport> reports) {
        std::vector<QueuedReport> queued;
        std::size_t silent = 0;
        for (std::size_t i = 0; i < reports.size(); ++i) {
            ReportSink& sink = batch.sinks[i];
            if (!sink.sync && !sink.callback) {
                ++silent;
                continue;
            }
            reports[i].topic = batch.partition->topic;
            reports[i].partition = batch.partition->id;
            if (sink.sync) {
                sink.sync->set_value(std::move(reports[i]));
            } else {
                queued.push_back({std::move(sink.callback), std::move(reports[i])});
            }
        }
        if (queued.empty() && silent == 0) return;
        std::lock_guard lock(reports_mu_);
        for (QueuedReport& q : queued) reports_.push_back(std::move(q));
        silent_reports_ += silent;
        reports_cv_.notify_all();
    }

    // Runs every queued callback with the lock released, then counts the records done.
    // REQUIRES: `lock` holds reports_mu_; it holds it again on return.
    int run_callbacks(std::unique_lock<std::mutex>& lock) {
        if (reports_.empty() && silent_reports_ == 0) return 0;
        std::deque<QueuedReport> ready;
        ready.swap(reports_);
        const std::size_t done = ready.size() + std::exchange(silent_reports_, 0);
        lock.unlock();
        int called = 0;
        for (QueuedReport& q : ready) {
            if (!q.callback) continue;
            q.callback(q.report);
            ++called;
        }
        lock.lock();
        if (outstanding_.fetch_sub(done, std::memory_order_acq_rel) == done) {
            reports_cv_.notify_all();
        }
        return called;
    }

    const std::shared_ptr<detail::StoreCore> core_;
    const client::ProducerConfig config_;
    const std::unique_ptr<txn::ProducerSession> session_;
    client::StickyPartitioner sticky_;
    // Records produced and not yet handed to their callback (produce_sync records excluded).
    std::atomic<std::size_t> outstanding_{0};

    std::mutex reports_mu_;
    std::condition_variable reports_cv_;  // a report was queued or outstanding_ reached 0
    std::deque<QueuedReport> reports_;    // Guarded by reports_mu_.
    std::size_t silent_reports_ = 0;      // delivered without a callback; guarded by reports_mu_

    const client::RecordAccumulator::SendFn send_fn_ = [this](std::vector<Batch>& b) { send(b); };
    client::RecordAccumulator accumulator_;
    std::thread sender_;  // last, so it starts after everything it uses
};

Result<std::unique_ptr<Producer>> Producer::create(const Store& store, const Config& config) {
    const std::shared_ptr<detail::StoreCore>& core = store.core();
    BROOK_RETURN_IF_ERROR(core->check_open());
    if (core->read_only()) {
        return Status::invalid_argument(
            "the store was opened read_only; producers need a writable store");
    }
    BROOK_ASSIGN_OR_RETURN(client::ProducerConfig parsed, client::parse_producer_config(config));
    BROOK_ASSIGN_OR_RETURN(auto session,
                           txn::ProducerSession::create(
                               *core, {.idempotent = parsed.idempotent,
                                       .transactional_id = parsed.transactional_id,
                                       .transaction_timeout_ms = parsed.transaction_timeout_ms}));
    return std::unique_ptr<Producer>(
        new Producer(std::make_unique<Impl>(core, std::move(parsed), std::move(session))));
}

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer::~Producer() = default;

Status Producer::produce(ProducerRecord record, DeliveryCallback callback) {
    return impl_->produce(std::move(record), std::move(callback));
}

Result<DeliveryReport> Producer::produce_sync(ProducerRecord record) {
    return impl_->produce_sync(std::move(record));
}

int Producer::poll(std::chrono::milliseconds timeout) {
    return impl_->poll(timeout);
}

Status Producer::flush(std::chrono::milliseconds timeout) {
    return impl_->flush(timeout);
}

std::size_t Producer::outstanding() const {
    return impl_->outstanding();
}

Status Producer::init_transactions(std::chrono::milliseconds) {
    return impl_->session().init_transactions();
}

Status Producer::begin_transaction() {
    return impl_->session().begin_transaction();
}

Status Producer::send_offsets_to_transaction(const std::vector<TopicPartitionOffset>& offsets,
                                             const ConsumerGroupMetadata& group,
                                             std::chrono::milliseconds) {
    return impl_->session().send_offsets(offsets, group.group_id, group.member_id,
                                         group.generation_id);
}

Status Producer::commit_transaction(std::chrono::milliseconds timeout) {
    return impl_->session().end_transaction([&] { return impl_->flush(timeout); }, true);
}

Status Producer::abort_transaction(std::chrono::milliseconds timeout) {
    return impl_->session().end_transaction([&] { return impl_->flush(timeout); }, false);
}

}  // namespace brook

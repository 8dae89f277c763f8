// Producer and Producer::Impl: routing each record (TopicRouter, topic_router.hpp), encoding it
// into its partition's open batch in the RecordAccumulator, having sealed batches appended to
// the store (BatchAppender, batch_appender.hpp), and handing their reports to the
// DeliveryQueue (delivery_queue.hpp), which poll() and flush() serve. A record produced without
// a callback gets no report object: it is only counted.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <brook/producer.hpp>
#include <mutex>
#include <thread>
#include <utility>

#include "client/batch_appender.hpp"
#include "client/delivery_queue.hpp"
#include "client/pause_detector.hpp"
#include "client/producer_config.hpp"
#include "client/producer_testing.hpp"
#include "client/record_accumulator.hpp"
#include "client/topic_router.hpp"
#include "log/batch_builder.hpp"
#include "log/format.hpp"
#include "store/store_core.hpp"
#include "txn/producer_session.hpp"
#include "util/deadline.hpp"

namespace brook {

std::atomic<bool> client::testing::resend_batches{false};
std::atomic<void (*)()> client::testing::before_send{nullptr};
std::atomic<void (*)()> client::testing::after_report{nullptr};
std::atomic<void (*)()> client::testing::after_queue_sync{nullptr};
std::atomic<bool> client::testing::append_after_pause{true};
std::atomic<bool> client::testing::fast_path{true};

namespace {

using client::Appended;
using client::Batch;
using client::BatchTarget;
using client::PendingReport;
using client::RecordRef;
using client::RecordToAdd;
using client::ReportSink;
using std::chrono::steady_clock;

}  // namespace

class Producer::Impl {
  public:
    Impl(std::shared_ptr<detail::StoreCore> core, client::ProducerConfig config,
         std::unique_ptr<txn::ProducerSession> session)
        : core_(std::move(core)),
          config_(std::move(config)),
          session_(std::move(session)),
          router_(*core_, config_, *session_),
          accumulator_(config_.linger, config_.batch_size, config_.buffer_memory,
                       [this](const Batch& b) { router_.on_seal(b); }),
          appender_(*core_, *session_, accumulator_,
                    {.durable = config_.durable,
                     .delivery_timeout = config_.delivery_timeout,
                     .who = who()}),
          sender_([this] { run_sender(); }) {}

    ~Impl() {
        accumulator_.stop();
        sender_.join();
        send_all();
    }

    // One lock per record: the accumulator's, under which the TopicRouter resolves the record's
    // topic and partition from its cache and the record is encoded into its partition's open
    // batch. The common case is inline, down to the encoding: no call that can fail, no Status,
    // no report object without a callback; anything else is produce_general().
    [[gnu::always_inline]] Status produce(const RecordRef& record, DeliveryCallback&& callback) {
        if (core_->is_closed()) [[unlikely]]
            return core_->check_open();
        std::unique_lock lock = accumulator_.lock();
        client::Route p;
        if (!client::testing::fast_path.load(std::memory_order_relaxed) ||
            !router_.route_cached(record, p)) [[unlikely]] {
            return produce_general(std::move(lock), record, std::move(callback));
        }
        const bool after_pause = arrived_after_pause();
        if (!after_pause) [[likely]] {
            switch (accumulator_.add_to_last(p.target, {record, p.timestamp, p.fields}, callback)) {
                case client::RecordAccumulator::LastAdd::added:
                    delivery_.count_produced();
                    return Status::ok();
                case client::RecordAccumulator::LastAdd::sealed: {
                    delivery_.count_produced();
                    // p.topic is valid only under the lock.
                    const TopicPartition key{p.topic->record.name, p.partition};
                    lock.unlock();
                    accumulator_.drain(key, send_fn_);
                    return Status::ok();
                }
                case client::RecordAccumulator::LastAdd::missed:
                    break;  // `callback` was left as it was
            }
        }
        return add(std::move(lock), record, p, ReportSink{std::move(callback), nullptr},
                   after_pause);
    }

    // One lock and one routing for all the records; with linger.ms = 0 the caller appends
    // their batch itself, as produce() does for a record after a pause.
    Status produce_batch(std::string_view topic, std::optional<PartitionId> partition,
                         std::span<const BatchRecord> records, const DeliveryCallback& callback) {
        BROOK_RETURN_IF_ERROR(core_->check_open());
        if (records.empty()) return Status::ok();
        std::unique_lock lock = accumulator_.lock();
        client::Route p;
        BROOK_RETURN_IF_ERROR(router_.route_batch(topic, partition, records, lock, p));
        BROOK_RETURN_IF_ERROR(make_room(lock, p, Joins::new_batch_unsized, [&] {
            return router_.route_batch(topic, partition, records, lock, p);
        }));
        const client::RecordAccumulator::AllAdded added =
            accumulator_.add_all(lock, p.topic->record.name, p.partition, p.target,
                                 {records, p.timestamp}, callback, config_.linger.count() == 0);
        Status status = Status::ok();
        if (added.refused_bytes == 0) {
            delivery_.count_produced(records.size());
        } else {
            status = client::TopicRouter::batch_too_large(
                topic, records.size(), added.refused_bytes, p.target.max_batch_bytes);
        }
        lock.unlock();
        if (added.wake_sender) accumulator_.wake_sender();
        if (added.to_drain) accumulator_.drain(*added.to_drain, send_fn_);
        return status;
    }

    // With acks=all the report comes as soon as the record is appended (send() hands it over
    // first), and this thread then waits for the fsync itself: it shares fsyncs with the
    // others (group commit) and is woken by the one that covers its record. The report is
    // set by whichever thread appends the record, usually this one.
    Result<DeliveryReport> produce_sync(const RecordRef& record) {
        BROOK_RETURN_IF_ERROR(core_->check_open());
        client::SyncReport sync;
        std::unique_lock lock = accumulator_.lock();
        client::Route p;
        BROOK_RETURN_IF_ERROR(router_.route(record, lock, p));
        BROOK_RETURN_IF_ERROR(
            make_room(lock, p, Joins::new_batch, [&] { return router_.route(record, lock, p); }));
        std::shared_ptr<detail::PartitionState> partition;
        if (config_.durable) partition = *p.target.partition;
        const TopicPartition key =
            accumulator_.add_alone(std::move(lock), p.topic->record.name, p.partition, p.target,
                                   {record, p.timestamp, p.fields}, ReportSink{{}, &sync});
        if (auto* hook = client::testing::after_queue_sync.load(std::memory_order_acquire)) hook();
        // If another thread is draining this partition, it appends the record instead.
        accumulator_.drain(key, send_fn_);
        DeliveryReport report = sync.wait();
        if (!report.error.is_ok()) return report.error;
        if (partition) BROOK_RETURN_IF_ERROR(partition->log->sync_to(report.offset + 1));
        return report;
    }

    int poll(std::chrono::milliseconds timeout) { return delivery_.poll(timeout); }

    Status flush(std::chrono::milliseconds timeout) {
        const auto deadline = util::deadline_after(timeout);
        accumulator_.begin_flush();
        send_all();
        const bool done = delivery_.wait_all_done(deadline);
        accumulator_.end_flush();
        if (done) return Status::ok();
        return Status::error(
            Code::timed_out,
            fmt::format("{}: {} records still outstanding after flush timeout of {} ms", who(),
                        outstanding(), timeout.count()));
    }

    std::size_t outstanding() const { return delivery_.outstanding(); }

    txn::ProducerSession& session() { return *session_; }

  private:
    // Appended batches and their outcomes, until their records are reported.
    struct Sent {
        std::vector<Batch> batches;
        std::vector<std::vector<Appended>> results;
    };

    // produce() for any record: TopicRouter::route() (which reports every error), then add().
    [[gnu::noinline]] Status produce_general(client::RecordAccumulator::Lock lock,
                                             const RecordRef& record, DeliveryCallback&& callback) {
        client::Route p;
        BROOK_RETURN_IF_ERROR(router_.route(record, lock, p));
        return add(std::move(lock), record, p, ReportSink{std::move(callback), nullptr},
                   arrived_after_pause());
    }

    // The general path of produce(), for a routed record. Releases `lock`.
    [[gnu::noinline]] Status add(client::RecordAccumulator::Lock lock, const RecordRef& record,
                                 client::Route& p, ReportSink&& sink, bool after_pause) {
        BROOK_RETURN_IF_ERROR(
            make_room(lock, p, Joins::open_batch, [&] { return router_.route(record, lock, p); }));
        delivery_.count_produced();
        const std::string& topic = p.topic->record.name;
        const RecordToAdd add{record, p.timestamp, p.fields};
        if (after_pause) {
            const TopicPartition key = accumulator_.add_and_seal(
                std::move(lock), topic, p.partition, p.target, add, std::move(sink));
            accumulator_.drain(key, send_fn_);
            pauses_.appended(steady_clock::now().time_since_epoch().count());
            return Status::ok();
        }
        const std::optional<TopicPartition> sealed =
            accumulator_.add(std::move(lock), topic, p.partition, p.target, add, std::move(sink));
        if (sealed) accumulator_.drain(*sealed, send_fn_);
        return Status::ok();
    }

    // Where a call's records go, for make_room().
    enum class Joins {
        open_batch,         // produce(): the open batch if the record fits, else a new one
        new_batch,          // produce_sync(): a batch of its own
        new_batch_unsized,  // produce_batch(): a new batch unless the open one holds them
                            // all, which is known only once they are encoded
    };

    // Waits while the new batch the routed records need finds buffer.memory full (see
    // RecordAccumulator::room_missing()). `reroute` routes the records again after each
    // wait, since their topic may have changed while the lock was released.
    // @return timed_out once max.block.ms passed without room; reroute's errors.
    template <typename Reroute>
    Status make_room(client::RecordAccumulator::Lock& lock, client::Route& p, Joins joins,
                     Reroute&& reroute) {
        const auto missing = [&] {
            return accumulator_.room_missing(p.topic->record.name, p.partition, p.target,
                                             joins == Joins::new_batch_unsized ? 0 : p.fields,
                                             joins == Joins::open_batch);
        };
        std::size_t bytes = missing();
        if (bytes == 0) [[likely]]
            return Status::ok();
        const auto deadline = util::deadline_after(config_.max_block);
        do {
            if (!accumulator_.wait_for_room(lock, bytes, deadline)) {
                return Status::error(
                    Code::timed_out,
                    fmt::format("{}: buffer.memory = {} bytes stayed full for max.block.ms = {} "
                                "ms ({} bytes of batches wait to be appended); records are "
                                "produced faster than they are appended: slow down, flush(), or "
                                "raise buffer.memory or max.block.ms",
                                who(), config_.buffer_memory, config_.max_block.count(),
                                accumulator_.memory_taken()));
            }
            BROOK_RETURN_IF_ERROR(reroute());
            bytes = missing();
        } while (bytes != 0);
        return Status::ok();
    }

    // With linger.ms = 0 and no fsync to wait for, a record that comes after a pause is
    // appended by produce() itself (see client::PauseDetector).
    bool arrived_after_pause() {
        if (config_.linger.count() != 0 || config_.durable ||
            !client::testing::append_after_pause.load(std::memory_order_relaxed)) {
            return false;
        }
        return pauses_.arrived(steady_clock::now().time_since_epoch().count());
    }

    std::string who() const {
        return config_.client_id.empty() ? "producer"
                                         : fmt::format("producer '{}'", config_.client_id);
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

    // Appends sealed batches of one partition key, in order, gives their buffer.memory back,
    // then (acks=all) fsyncs once for all of them and reports every record. With acks=all and no
    // callbacks among the records, the fsync and the reports are returned for drain() to run once
    // other threads may append to the partition again: their records can then join the next fsync
    // (group commit). Callbacks are delivered before the partition is released, so they stay in
    // order.
    std::function<void()> send(std::vector<Batch>& batches, client::DrainedShares& shares) {
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

    // With acks=all, hands each produce_sync() record (a batch of its own, see add_alone) its
    // report as soon as it is appended, and takes its batch out of `batches`: its caller waits
    // for the fsync itself. Its error if it was not appended.
    static void report_sync_records(std::vector<Batch>& batches,
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

    void sync_and_deliver(std::vector<Batch>& batches,
                          std::vector<std::vector<Appended>>& results) {
        appender_.sync_appended(batches, results);
        for (std::size_t b = 0; b < batches.size(); ++b) delivery_.deliver(batches[b], results[b]);
        if (auto* hook = client::testing::after_report.load(std::memory_order_acquire)) hook();
    }

    static bool has_callbacks(const std::vector<Batch>& batches) {
        return std::any_of(batches.begin(), batches.end(), [](const Batch& batch) {
            return std::any_of(batch.reports.begin(), batch.reports.end(),
                               [](const PendingReport& r) { return bool(r.sink.callback); });
        });
    }

    const std::shared_ptr<detail::StoreCore> core_;
    const client::ProducerConfig config_;
    const std::unique_ptr<txn::ProducerSession> session_;
    // Guarded by accumulator_.lock(), so that a record takes one lock.
    client::TopicRouter router_;
    // When produce() calls come, for arrived_after_pause().
    client::PauseDetector pauses_;

    // Records produced with produce() and their reports (produce_sync records excluded).
    client::DeliveryQueue delivery_;

    const client::RecordAccumulator::SendFn send_fn_ =
        [this](std::vector<Batch>& b, client::DrainedShares& shares) { return send(b, shares); };
    client::RecordAccumulator accumulator_;
    client::BatchAppender appender_;
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
    BROOK_ASSIGN_OR_RETURN(
        auto session,
        txn::ProducerSession::create(core->txn_view(),
                                     {.idempotent = parsed.idempotent,
                                      .transactional_id = parsed.transactional_id,
                                      .transaction_timeout_ms = parsed.transaction_timeout_ms}));
    return std::unique_ptr<Producer>(
        new Producer(std::make_unique<Impl>(core, std::move(parsed), std::move(session))));
}

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer::~Producer() = default;

Status Producer::produce(ProducerRecord record, DeliveryCallback callback) {
    return impl_->produce(RecordRef::of(record), std::move(callback));
}

Status Producer::produce(std::string_view topic, std::optional<PartitionId> partition,
                         std::optional<std::string_view> key, std::optional<std::string_view> value,
                         std::optional<std::int64_t> timestamp, std::span<const Header> headers,
                         DeliveryCallback callback) {
    return impl_->produce({.topic = topic,
                           .key = key,
                           .value = value,
                           .headers = headers,
                           .timestamp = timestamp,
                           .partition = partition},
                          std::move(callback));
}

Status Producer::produce_batch(std::string_view topic, std::optional<PartitionId> partition,
                               std::span<const BatchRecord> records, DeliveryCallback callback) {
    return impl_->produce_batch(topic, partition, records, callback);
}

Result<DeliveryReport> Producer::produce_sync(ProducerRecord record) {
    return impl_->produce_sync(RecordRef::of(record));
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

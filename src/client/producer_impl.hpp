// Producer::Impl: what a Producer does behind its pimpl: routing each record (TopicRouter,
// topic_router.hpp), encoding it into its partition's open batch in the RecordAccumulator,
// having sealed batches appended to the store (BatchAppender, batch_appender.hpp), and handing
// their reports to the DeliveryQueue (delivery_queue.hpp), which poll() and flush() serve. A
// record produced without a callback gets no report object: it is only counted.
//
// Its definitions are split by concern: produce() is inline here, since it is the path of every
// record; client/producer_produce.cpp has the other ways records come in (produce_batch(),
// produce_sync(), the general path of produce(), waiting for buffer.memory) and flush();
// client/producer_send.cpp has the way batches go out (the sender thread, appending, the fsync
// and the reports). client/producer.cpp forwards the public Producer's calls here.
//
// Ownership: the Producer owns its Impl, which owns the router, the accumulator, the appender,
// the delivery queue and the sender thread, and shares the StoreCore. Threads: as for the
// public Producer (include/brook/producer.hpp), any number of threads may call the members at
// once, the transaction calls one at a time; the sender thread runs run_sender() from
// construction until the destructor stops it.
//
// Locking: the accumulator's lock guards the router and each partition's open batch; a record
// takes it once. A partition's sealed batches are appended in order by one thread at a time,
// whichever drains them (RecordAccumulator::drain), without the accumulator's lock held while
// it appends, syncs or reports.
#pragma once

#include <atomic>
#include <brook/producer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "client/batch_appender.hpp"
#include "client/delivery_queue.hpp"
#include "client/pause_detector.hpp"
#include "client/producer_config.hpp"
#include "client/producer_testing.hpp"
#include "client/record_accumulator.hpp"
#include "client/topic_router.hpp"
#include "store/store_core.hpp"
#include "txn/producer_session.hpp"

namespace brook {

class Producer::Impl {
  public:
    Impl(std::shared_ptr<detail::StoreCore> core, client::ProducerConfig config,
         std::unique_ptr<txn::ProducerSession> session);
    // Stops the sender thread and appends what is left, as close() does in Kafka's producers.
    ~Impl();

    // One lock per record: the accumulator's, under which the TopicRouter resolves the record's
    // topic and partition from its cache and the record is encoded into its partition's open
    // batch. The common case is inline, down to the encoding: no call that can fail, no Status,
    // no report object without a callback; anything else is produce_general().
    [[gnu::always_inline]] Status produce(const client::RecordRef& record,
                                          DeliveryCallback&& callback) {
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
        return add(std::move(lock), record, p, client::ReportSink{std::move(callback), nullptr},
                   after_pause);
    }

    // One lock and one routing for all the records; with linger.ms = 0 the caller appends
    // their batch itself, as produce() does for a record after a pause.
    Status produce_batch(std::string_view topic, std::optional<PartitionId> partition,
                         std::span<const BatchRecord> records, const DeliveryCallback& callback);

    // With acks=all the report comes as soon as the record is appended (send() hands it over
    // first), and this thread then waits for the fsync itself: it shares fsyncs with the
    // others (group commit) and is woken by the one that covers its record. The report is
    // set by whichever thread appends the record, usually this one.
    Result<DeliveryReport> produce_sync(const client::RecordRef& record);

    int poll(std::chrono::milliseconds timeout) { return delivery_.poll(timeout); }

    // Seals every open batch, appends them on this thread, and waits until every record
    // produced so far (by any thread) is reported; batches opened meanwhile are due at once.
    Status flush(std::chrono::milliseconds timeout);

    std::size_t outstanding() const { return delivery_.outstanding(); }

    txn::ProducerSession& session() { return *session_; }

  private:
    // Appended batches and their outcomes, until their records are reported.
    struct Sent {
        std::vector<client::Batch> batches;
        std::vector<std::vector<client::Appended>> results;
    };

    // Where a call's records go, for make_room().
    enum class Joins {
        open_batch,         // produce(): the open batch if the record fits, else a new one
        new_batch,          // produce_sync(): a batch of its own
        new_batch_unsized,  // produce_batch(): a new batch unless the open one holds them
                            // all, which is known only once they are encoded
    };

    // produce() for any record: TopicRouter::route() (which reports every error), then add().
    [[gnu::noinline]] Status produce_general(client::RecordAccumulator::Lock lock,
                                             const client::RecordRef& record,
                                             DeliveryCallback&& callback);

    // The general path of produce(), for a routed record. Releases `lock`.
    [[gnu::noinline]] Status add(client::RecordAccumulator::Lock lock,
                                 const client::RecordRef& record, client::Route& p,
                                 client::ReportSink&& sink, bool after_pause);

    // Waits while the new batch the routed records need finds buffer.memory full (see
    // RecordAccumulator::room_missing()). `reroute` routes the records again after each
    // wait, since their topic may have changed while the lock was released.
    // @return timed_out once max.block.ms passed without room; reroute's errors.
    template <typename Reroute>
    Status make_room(client::RecordAccumulator::Lock& lock, client::Route& p, Joins joins,
                     Reroute&& reroute);

    // With linger.ms = 0 and no fsync to wait for, a record that comes after a pause is
    // appended by produce() itself (see client::PauseDetector).
    bool arrived_after_pause() {
        if (config_.linger.count() != 0 || config_.durable ||
            !client::testing::append_after_pause.load(std::memory_order_relaxed)) {
            return false;
        }
        return pauses_.arrived(std::chrono::steady_clock::now().time_since_epoch().count());
    }

    std::string who() const;

    // The sender thread: appends each partition's batches as they fall due.
    void run_sender();
    // Seals every open batch and appends them on the calling thread.
    void send_all();

    // Appends sealed batches of one partition key, in order, gives their buffer.memory back,
    // then (acks=all) fsyncs once for all of them and reports every record. With acks=all and no
    // callbacks among the records, the fsync and the reports are returned for drain() to run once
    // other threads may append to the partition again: their records can then join the next fsync
    // (group commit). Callbacks are delivered before the partition is released, so they stay in
    // order.
    std::function<void()> send(std::vector<client::Batch>& batches, client::DrainedShares& shares);

    // With acks=all, hands each produce_sync() record (a batch of its own, see add_alone) its
    // report as soon as it is appended, and takes its batch out of `batches`: its caller waits
    // for the fsync itself. Its error if it was not appended.
    static void report_sync_records(std::vector<client::Batch>& batches,
                                    std::vector<std::vector<client::Appended>>& results);

    // With acks=all fsyncs what `batches` appended; then reports their records.
    void sync_and_deliver(std::vector<client::Batch>& batches,
                          std::vector<std::vector<client::Appended>>& results);

    static bool has_callbacks(const std::vector<client::Batch>& batches);

    const std::shared_ptr<detail::StoreCore> core_;
    const client::ProducerConfig config_;
    const std::unique_ptr<txn::ProducerSession> session_;
    // Guarded by accumulator_.lock(), so that a record takes one lock.
    client::TopicRouter router_;
    // When produce() calls come, for arrived_after_pause().
    client::PauseDetector pauses_;

    // Records produced with produce() and their reports (produce_sync records excluded).
    client::DeliveryQueue delivery_;

    const client::RecordAccumulator::SendFn send_fn_ = [this](std::vector<client::Batch>& b,
                                                              client::DrainedShares& shares) {
        return send(b, shares);
    };
    client::RecordAccumulator accumulator_;
    client::BatchAppender appender_;
    std::thread sender_;  // last, so it starts after everything it uses
};

}  // namespace brook

// Producer::Impl's ways in (client/producer_impl.hpp): construction and destruction,
// produce_batch(), produce_sync(), the general path of produce(), waiting for buffer.memory,
// and flush().
#include <fmt/format.h>

#include <utility>

#include "client/producer_impl.hpp"
#include "util/deadline.hpp"

namespace brook {

using client::Batch;
using client::RecordRef;
using client::RecordToAdd;
using client::ReportSink;
using std::chrono::steady_clock;

Producer::Impl::Impl(std::shared_ptr<detail::StoreCore> core, client::ProducerConfig config,
                     std::unique_ptr<txn::ProducerSession> session)
    : core_(std::move(core)),
      config_(std::move(config)),
      session_(std::move(session)),
      router_(*core_, config_, *session_),
      accumulator_(config_.linger, config_.batch_size, config_.buffer_memory,
                   [this](const Batch& b) { router_.on_seal(b); }),
      appender_(
          *core_, *session_, accumulator_,
          {.durable = config_.durable, .delivery_timeout = config_.delivery_timeout, .who = who()}),
      sender_([this] { run_sender(); }) {}

Producer::Impl::~Impl() {
    accumulator_.stop();
    sender_.join();
    send_all();
}

// A member template: defined here, before its callers, which are all in this file.
template <typename Reroute>
Status Producer::Impl::make_room(client::RecordAccumulator::Lock& lock, client::Route& p,
                                 Joins joins, Reroute&& reroute) {
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

Status Producer::Impl::produce_batch(std::string_view topic, std::optional<PartitionId> partition,
                                     std::span<const BatchRecord> records,
                                     const DeliveryCallback& callback) {
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
        status = client::TopicRouter::batch_too_large(topic, records.size(), added.refused_bytes,
                                                      p.target.max_batch_bytes);
    }
    lock.unlock();
    if (added.wake_sender) accumulator_.wake_sender();
    if (added.to_drain) accumulator_.drain(*added.to_drain, send_fn_);
    return status;
}

Result<DeliveryReport> Producer::Impl::produce_sync(const RecordRef& record) {
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

Status Producer::Impl::flush(std::chrono::milliseconds timeout) {
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

Status Producer::Impl::produce_general(client::RecordAccumulator::Lock lock,
                                       const RecordRef& record, DeliveryCallback&& callback) {
    client::Route p;
    BROOK_RETURN_IF_ERROR(router_.route(record, lock, p));
    return add(std::move(lock), record, p, ReportSink{std::move(callback), nullptr},
               arrived_after_pause());
}

Status Producer::Impl::add(client::RecordAccumulator::Lock lock, const RecordRef& record,
                           client::Route& p, ReportSink&& sink, bool after_pause) {
    BROOK_RETURN_IF_ERROR(
        make_room(lock, p, Joins::open_batch, [&] { return router_.route(record, lock, p); }));
    delivery_.count_produced();
    const std::string& topic = p.topic->record.name;
    const RecordToAdd add{record, p.timestamp, p.fields};
    if (after_pause) {
        const TopicPartition key = accumulator_.add_and_seal(std::move(lock), topic, p.partition,
                                                             p.target, add, std::move(sink));
        accumulator_.drain(key, send_fn_);
        pauses_.appended(steady_clock::now().time_since_epoch().count());
        return Status::ok();
    }
    const std::optional<TopicPartition> sealed =
        accumulator_.add(std::move(lock), topic, p.partition, p.target, add, std::move(sink));
    if (sealed) accumulator_.drain(*sealed, send_fn_);
    return Status::ok();
}

std::string Producer::Impl::who() const {
    return config_.client_id.empty() ? "producer" : fmt::format("producer '{}'", config_.client_id);
}

}  // namespace brook

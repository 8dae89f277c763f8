// Producer: the public class (include/brook/producer.hpp), each call forwarded to its Impl
// (client/producer_impl.hpp); create() parses the config and sets up the producer's session
// (idempotence, transactions). Also the test hooks of client/producer_testing.hpp.
#include "client/producer_impl.hpp"

namespace brook {

std::atomic<bool> client::testing::resend_batches{false};
std::atomic<void (*)()> client::testing::before_send{nullptr};
std::atomic<void (*)()> client::testing::after_report{nullptr};
std::atomic<void (*)()> client::testing::after_queue_sync{nullptr};
std::atomic<bool> client::testing::append_after_pause{true};
std::atomic<bool> client::testing::fast_path{true};

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
    return impl_->produce(client::RecordRef::of(record), std::move(callback));
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
    return impl_->produce_sync(client::RecordRef::of(record));
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

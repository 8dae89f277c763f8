// Consumer: the public class (include/brook/consumer.hpp), each call forwarded to its Impl
// (client/consumer_impl.hpp). create() parses the config and, with group.id, sets up the group
// client; the destructor closes the consumer.
#include <brook/consumer.hpp>

#include "client/consumer_impl.hpp"
#include "util/topic_pattern.hpp"

namespace brook {

Result<std::unique_ptr<Consumer>> Consumer::create(const Store& store, const Config& config) {
    BROOK_RETURN_IF_ERROR(store.core()->check_open());
    BROOK_ASSIGN_OR_RETURN(auto parsed, client::parse_consumer_config(config));
    auto impl = std::make_unique<Impl>(store.core(), std::move(parsed));
    Impl& raw = *impl;
    std::unique_ptr<Consumer> consumer(new Consumer(std::move(impl)));
    BROOK_RETURN_IF_ERROR(raw.init(*consumer));
    return consumer;
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
// Destruction leaves the group as close() does, while the Consumer is still whole for the
// rebalance listener.
Consumer::~Consumer() {
    impl_->close().ignore();
}

Status Consumer::assign(const std::vector<TopicPartitionOffset>& partitions) {
    return impl_->assign(partitions);
}
Status Consumer::unassign() {
    return impl_->unassign();
}
std::vector<TopicPartition> Consumer::assignment() const {
    return impl_->assignment();
}
Status Consumer::seek(const TopicPartitionOffset& position) {
    return impl_->seek(position);
}
Result<std::vector<TopicPartitionOffset>> Consumer::position(
    const std::vector<TopicPartition>& partitions) const {
    return impl_->position(partitions);
}
Status Consumer::pause(const std::vector<TopicPartition>& partitions) {
    return impl_->set_paused(partitions, true);
}
Status Consumer::resume(const std::vector<TopicPartition>& partitions) {
    return impl_->set_paused(partitions, false);
}
Result<WatermarkOffsets> Consumer::get_watermark_offsets(const TopicPartition& partition) const {
    return impl_->get_watermark_offsets(partition);
}
Result<std::vector<TopicPartitionOffset>> Consumer::offsets_for_times(
    const std::vector<TopicPartitionTimestamp>& query) const {
    return impl_->offsets_for_times(query);
}
std::optional<Message> Consumer::poll(std::chrono::milliseconds timeout) {
    return impl_->poll(timeout);
}
std::vector<Message> Consumer::consume(std::size_t max_messages,
                                       std::chrono::milliseconds timeout) {
    return impl_->consume(max_messages, timeout);
}
std::size_t Consumer::consume(std::vector<Message>& out, std::size_t max_messages,
                              std::chrono::milliseconds timeout) {
    return impl_->consume(out, max_messages, timeout);
}
void Consumer::wakeup() {
    impl_->wakeup();
}
Status Consumer::subscribe(const std::vector<std::string>& topics,
                           std::shared_ptr<RebalanceListener> listener) {
    return impl_->subscribe(group::Subscription{topics, {}}, std::move(listener));
}
Status Consumer::subscribe_pattern(std::string_view pattern,
                                   std::shared_ptr<RebalanceListener> listener) {
    auto compiled = util::TopicPattern::compile(pattern);
    if (!compiled.is_ok()) {
        return Status::invalid_argument("subscribe_pattern: " + compiled.status().message());
    }
    return impl_->subscribe(group::Subscription{{}, std::move(compiled).value()},
                            std::move(listener));
}
Status Consumer::unsubscribe() {
    return impl_->unsubscribe();
}
std::string Consumer::member_id() const {
    return impl_->member_id();
}
Result<ConsumerGroupMetadata> Consumer::group_metadata() const {
    return impl_->group_metadata();
}
Status Consumer::commit() {
    return impl_->commit(std::nullopt);
}
Status Consumer::commit(const Message& message) {
    if (!message.error().is_ok()) {
        return Status::invalid_argument(
            "commit(message): the message carries an error, not a record");
    }
    return impl_->commit(std::vector<TopicPartitionOffset>{
        {message.topic(), message.partition(), message.offset() + 1}});
}
Status Consumer::commit(const std::vector<TopicPartitionOffset>& offsets) {
    return impl_->commit(offsets);
}
void Consumer::commit_async(CommitCallback callback) {
    impl_->commit_async(std::nullopt, std::move(callback));
}
void Consumer::commit_async(std::vector<TopicPartitionOffset> offsets, CommitCallback callback) {
    impl_->commit_async(std::move(offsets), std::move(callback));
}
Result<std::vector<TopicPartitionOffset>> Consumer::committed(
    const std::vector<TopicPartition>& partitions) const {
    return impl_->committed(partitions);
}
Status Consumer::close() {
    return impl_->close();
}

}  // namespace brook

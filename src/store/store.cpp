// Store: the public face of StoreCore, and Message's out-of-line members.
#include "store/store_core.hpp"

#include <brook/message.hpp>
#include <brook/store.hpp>

namespace brook {

Store::Store(std::shared_ptr<detail::StoreCore> core) : core_(std::move(core)) {}

Store::~Store() { close().ignore(); }

Result<std::unique_ptr<Store>> Store::open(const std::string& path, Options options) {
    BROOK_ASSIGN_OR_RETURN(auto core, detail::StoreCore::open(path, std::move(options), false));
    return std::unique_ptr<Store>(new Store(std::move(core)));
}

Result<std::unique_ptr<Store>> Store::open_in_memory(Options options) {
    BROOK_ASSIGN_OR_RETURN(auto core, detail::StoreCore::open("", std::move(options), true));
    return std::unique_ptr<Store>(new Store(std::move(core)));
}

Status Store::close() { return core_->close(); }

Status Store::create_topic(std::string_view name, std::int32_t partitions, const Config& config) {
    return core_->create_topic(name, partitions, config);
}

Result<std::vector<std::string>> Store::list_topics() const { return core_->list_topics(); }

Result<TopicDescription> Store::describe_topic(std::string_view name) const {
    return core_->describe_topic(name);
}

Status Store::alter_topic_config(std::string_view name, const Config& config) {
    return core_->alter_topic_config(name, config);
}

Status Store::add_partitions(std::string_view name, std::int32_t new_total) {
    return core_->add_partitions(name, new_total);
}

Status Store::delete_topic(std::string_view name) { return core_->delete_topic(name); }

Status Store::run_maintenance() { return core_->run_maintenance(); }

Result<Offset> Store::delete_records(std::string_view topic, PartitionId partition,
                                     Offset before_offset) {
    return core_->delete_records(topic, partition, before_offset);
}

MaintenanceStats Store::maintenance_stats() const { return core_->maintenance_stats(); }

const std::string& Store::path() const noexcept { return core_->path(); }

Message Message::from_error(Status error, std::string topic, PartitionId partition) {
    Message message;
    message.topic_ = std::move(topic);
    message.partition_ = partition;
    message.error_ = std::move(error);
    return message;
}

namespace {

// The bytes of a Message built from strings.
struct OwnedBytes {
    std::optional<std::string> key;
    std::optional<std::string> value;
};

std::optional<std::string_view> view_of(const std::optional<std::string>& s) {
    if (!s) return std::nullopt;
    return std::string_view(*s);
}

}  // namespace

Message::Message(std::string topic, PartitionId partition, Offset offset,
                 std::optional<std::string> key, std::optional<std::string> value, Headers headers,
                 std::int64_t timestamp, TimestampType timestamp_type)
    : topic_(std::move(topic)),
      partition_(partition),
      offset_(offset),
      headers_(std::move(headers)),
      timestamp_(timestamp),
      timestamp_type_(timestamp_type) {
    auto owned = std::make_shared<const OwnedBytes>(OwnedBytes{std::move(key), std::move(value)});
    key_view_ = view_of(owned->key);
    value_view_ = view_of(owned->value);
    storage_ = std::move(owned);
}

Message::Message(std::string topic, PartitionId partition, Offset offset,
                 std::shared_ptr<const void> storage, std::optional<std::string_view> key,
                 std::optional<std::string_view> value, Headers headers, std::int64_t timestamp,
                 TimestampType timestamp_type)
    : topic_(std::move(topic)),
      partition_(partition),
      offset_(offset),
      headers_(std::move(headers)),
      timestamp_(timestamp),
      timestamp_type_(timestamp_type),
      storage_(std::move(storage)),
      key_view_(key),
      value_view_(value) {}

std::optional<std::string_view> Message::key() const noexcept { return key_view_; }

std::optional<std::string_view> Message::value() const noexcept { return value_view_; }

}  // namespace brook

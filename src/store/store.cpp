// Store: the public face of StoreCore, and Message's out-of-line members.
#include <brook/message.hpp>
#include <brook/store.hpp>

#include "store/store_core.hpp"

namespace brook {

Store::Store(std::shared_ptr<detail::StoreCore> core) : core_(std::move(core)) {}

Store::~Store() {
    close().ignore();
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, Options options) {
    BROOK_ASSIGN_OR_RETURN(auto core, detail::StoreCore::open(path, std::move(options), false));
    return std::unique_ptr<Store>(new Store(std::move(core)));
}

Result<std::unique_ptr<Store>> Store::open_in_memory(Options options) {
    BROOK_ASSIGN_OR_RETURN(auto core, detail::StoreCore::open("", std::move(options), true));
    return std::unique_ptr<Store>(new Store(std::move(core)));
}

Status Store::close() {
    return core_->close();
}

Status Store::create_topic(std::string_view name, std::int32_t partitions, const Config& config) {
    return core_->create_topic(name, partitions, config);
}

Result<std::vector<std::string>> Store::list_topics() const {
    return core_->list_topics();
}

Result<TopicDescription> Store::describe_topic(std::string_view name) const {
    return core_->describe_topic(name);
}

Status Store::alter_topic_config(std::string_view name, const Config& config) {
    return core_->alter_topic_config(name, config);
}

Status Store::add_partitions(std::string_view name, std::int32_t new_total) {
    return core_->add_partitions(name, new_total);
}

Status Store::delete_topic(std::string_view name) {
    return core_->delete_topic(name);
}

Status Store::run_maintenance() {
    return core_->run_maintenance();
}

Result<Offset> Store::delete_records(std::string_view topic, PartitionId partition,
                                     Offset before_offset) {
    return core_->delete_records(topic, partition, before_offset);
}

MaintenanceStats Store::maintenance_stats() const {
    return core_->maintenance_stats();
}

const std::string& Store::path() const noexcept {
    return core_->path();
}

namespace {

// The source of a Message built from owned values: it keeps them.
struct OwnedSource final : detail::MessageSource {
    OwnedSource(std::string topic, Status error)
        : MessageSource(std::move(topic), std::move(error)) {}

    // What the key, value and headers view, if not the members below.
    std::shared_ptr<const void> storage;
    std::optional<std::string> key;
    std::optional<std::string> value;
    Headers headers;
};

const Headers* headers_or_null(const Headers& headers) {
    return headers.empty() ? nullptr : &headers;
}

std::optional<std::string_view> view_of(const std::optional<std::string>& s) {
    if (!s) return std::nullopt;
    return std::string_view(*s);
}

}  // namespace

const std::string& Message::no_topic() noexcept {
    static const std::string empty;
    return empty;
}

const Headers& Message::no_headers() noexcept {
    static const Headers empty;
    return empty;
}

const Status& Message::no_error() noexcept {
    static const Status ok;
    return ok;
}

Message Message::from_error(Status error, std::string topic, PartitionId partition) {
    Message message;
    message.source_ =
        detail::SourceRef(new detail::MessageSource(std::move(topic), std::move(error)));
    message.partition_ = partition;
    return message;
}

Message::Message(std::string topic, PartitionId partition, Offset offset,
                 std::optional<std::string> key, std::optional<std::string> value, Headers headers,
                 std::int64_t timestamp, TimestampType timestamp_type) {
    auto* owned = new OwnedSource(std::move(topic), Status::ok());
    detail::SourceRef ref(owned);
    owned->key = std::move(key);
    owned->value = std::move(value);
    owned->headers = std::move(headers);
    *this = Message(std::move(ref), partition, offset, view_of(owned->key), view_of(owned->value),
                    headers_or_null(owned->headers), timestamp, timestamp_type);
}

Message::Message(std::string topic, PartitionId partition, Offset offset,
                 std::shared_ptr<const void> storage, std::optional<std::string_view> key,
                 std::optional<std::string_view> value, Headers headers, std::int64_t timestamp,
                 TimestampType timestamp_type) {
    auto* owned = new OwnedSource(std::move(topic), Status::ok());
    detail::SourceRef ref(owned);
    owned->storage = std::move(storage);
    owned->headers = std::move(headers);
    *this = Message(std::move(ref), partition, offset, key, value, headers_or_null(owned->headers),
                    timestamp, timestamp_type);
}

Message::Message(std::shared_ptr<const detail::MessageSource> source, PartitionId partition,
                 Offset offset, std::optional<std::string_view> key,
                 std::optional<std::string_view> value, const Headers* headers,
                 std::int64_t timestamp, TimestampType timestamp_type) {
    // A source owned by a shared_ptr is not counted by its Messages: this one holds it
    // through a counted source of its own.
    auto* owned = new OwnedSource(source->topic, source->error);
    detail::SourceRef ref(owned);
    owned->storage = std::move(source);
    *this =
        Message(std::move(ref), partition, offset, key, value, headers, timestamp, timestamp_type);
}

}  // namespace brook

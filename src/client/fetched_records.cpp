#include "client/fetched_records.hpp"

#include <utility>

namespace brook::client {
namespace {

TimestampType timestamp_type_of(const log::RecordView& r) {
    return r.timestamp_type == log::TimestampType::log_append_time
               ? TimestampType::log_append_time
               : TimestampType::create_time;
}

Headers to_headers(std::span<const log::HeaderView> views) {
    Headers headers;
    headers.reserve(views.size());
    for (const auto& header : views) {
        headers.push_back(
            Header{std::string(header.key),
                   header.value ? std::optional<std::string>(*header.value) : std::nullopt});
    }
    return headers;
}

}  // namespace

FetchedBytesRef FetchPool::take(const std::string& topic) {
    std::unique_ptr<FetchedBytes> bytes;
    {
        std::lock_guard lock(mu_);
        if (!free_.empty()) {
            bytes = std::move(free_.back());
            free_.pop_back();
        }
    }
    if (!bytes) bytes = std::make_unique<FetchedBytes>();
    bytes->topic = topic;
    // Keeps the pool alive until every buffer it handed out is back.
    bytes->pool = shared_from_this();
    return FetchedBytesRef(bytes.release());
}

void FetchedBytes::recycle() const noexcept {
    // The last reference is gone: nothing else uses the bytes, which were made writable.
    auto* self = const_cast<FetchedBytes*>(this);
    const std::shared_ptr<FetchPool> owner = std::move(self->pool);
    owner->give_back(self);
}

void FetchPool::give_back(FetchedBytes* bytes) noexcept {
    std::unique_ptr<FetchedBytes> owned(bytes);
    // A segment mapping is not kept: it would keep a segment that retention removed on disk.
    owned->raw.mapping.reset();
    owned->raw.mapped = {};
    if (owned->raw.bytes.capacity() > max_kept_bytes_) return;
    owned->raw.headers.clear();
    owned->raw.hidden.clear();
    owned->decompressed.clear();
    owned->headers.clear();
    std::lock_guard lock(mu_);
    if (free_.size() < kMaxFree) free_.push_back(std::move(owned));
}

Status FetchedRecords::decode(FetchedBytesRef bytes, Offset from) {
    clear();
    if (Status decoded = log::decode_raw_views(bytes->raw, from, bytes->decompressed, records_,
                                               header_views_);
        !decoded) {
        clear();
        return decoded;
    }
    if (!header_views_.empty()) {
        // Some records have headers: each one's are built once, for all its Messages.
        headers_.assign(records_.size(), nullptr);
        std::size_t with_headers = 0;
        for (const auto& r : records_) with_headers += r.header_count > 0 ? 1 : 0;
        bytes->headers.reserve(with_headers);
        for (std::size_t i = 0; i < records_.size(); ++i) {
            if (records_[i].header_count == 0) continue;
            headers_[i] = &bytes->headers.emplace_back(
                to_headers(records_[i].headers_of(header_views_)));
        }
    }
    bytes_ = std::move(bytes);
    return Status::ok();
}

void FetchedRecords::clear() {
    records_.clear();
    header_views_.clear();
    headers_.clear();
    next_ = 0;
    bytes_ = FetchedBytesRef();
}

Offset FetchedRecords::emit(PartitionId partition, std::size_t n, std::vector<Message>& out) {
    // Room first, so that nothing throws between taking the n references and handing them
    // over.
    if (out.capacity() - out.size() < n) out.reserve(out.size() + n);
    const detail::MessageSource* source = bytes_.get();
    source->acquire(static_cast<std::int64_t>(n));
    const std::size_t end = next_ + n;
    const bool any_headers = !headers_.empty();
    for (std::size_t i = next_; i < end; ++i) {
        const log::RecordView& r = records_[i];
        out.emplace_back(detail::SourceRef::adopt(source), partition, r.offset, r.key, r.value,
                         any_headers ? headers_[i] : nullptr, r.timestamp,
                         timestamp_type_of(r));
    }
    next_ = end;
    return records_[end - 1].offset + 1;
}

Message FetchedRecords::take(PartitionId partition) {
    const std::size_t i = next_++;
    const log::RecordView& r = records_[i];
    return Message(detail::SourceRef(bytes_.get()), partition, r.offset, r.key, r.value,
                   headers_.empty() ? nullptr : headers_[i], r.timestamp, timestamp_type_of(r));
}

}  // namespace brook::client

#include "client/fetched_records.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string_view>
#include <utility>

#include "log/short_record.hpp"

namespace brook::client {
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

namespace {

TimestampType timestamp_type_of(log::TimestampType type) {
    return type == log::TimestampType::log_append_time ? TimestampType::log_append_time
                                                       : TimestampType::create_time;
}

std::optional<std::string_view> view_or_null(const char* data, std::int32_t length) {
    if (length < 0) return std::nullopt;
    return std::string_view(data, static_cast<std::size_t>(length));
}

// Where log::decode_short_batch() puts the records of a batch: Messages appended to a vector,
// each adopting a reference to the read that is counted later, all at once.
class MessageSink {
  public:
    MessageSink(std::vector<Message>& messages, const detail::MessageSource* source,
                PartitionId partition)
        : messages_(messages), source_(source), partition_(partition) {}

    std::size_t size() const noexcept { return messages_.size(); }
    std::size_t capacity() const noexcept { return messages_.capacity(); }
    void emplace_back(const char* key, std::int32_t key_length, const char* value,
                      std::int32_t value_length, std::int64_t timestamp, Offset offset,
                      log::TimestampType type) noexcept {
        messages_.emplace_back(detail::SourceRef::adopt(source_), partition_, offset,
                               view_or_null(key, key_length), view_or_null(value, value_length),
                               nullptr, timestamp, timestamp_type_of(type));
    }
    // Drops the Messages past the first `size`, counting first the references they adopted.
    void resize(std::size_t size) {
        source_->acquire(static_cast<std::int64_t>(messages_.size() - size));
        messages_.erase(messages_.begin() + static_cast<std::ptrdiff_t>(size), messages_.end());
    }

  private:
    std::vector<Message>& messages_;
    const detail::MessageSource* source_;
    PartitionId partition_;
};

}  // namespace

Status FetchedRecords::decode(FetchedBytesRef bytes, PartitionId partition, Offset from) {
    clear();
    bytes_ = std::move(bytes);
    const log::RawBatches& raw = bytes_->raw;
    // Room for every record up front (as many as the batches can hold), so that the Messages
    // are not moved batch after batch.
    std::size_t count = 0;
    for (std::size_t i = 0; i < raw.headers.size(); ++i) {
        if (i >= raw.hidden.size() || !raw.hidden[i]) {
            count += std::min<std::size_t>(raw.headers[i].record_count,
                                           raw.headers[i].total_size());
        }
    }
    messages_.reserve(count);
    const std::span<const std::byte> batches = raw.batches();
    Status status = Status::ok();
    {
        // The references the Messages adopted are counted at once when decoding ends, however
        // it ends.
        struct CountAdopted {
            FetchedRecords& records;
            ~CountAdopted() {
                records.bytes_->acquire(static_cast<std::int64_t>(records.messages_.size()));
            }
        } count_adopted{*this};
        std::size_t pos = 0;
        for (std::size_t i = 0; i < raw.headers.size() && status.is_ok(); ++i) {
            const log::BatchHeader& header = raw.headers[i];
            if (i >= raw.hidden.size() || !raw.hidden[i]) {
                status = decode_batch(batches.subspan(pos, header.total_size()), header,
                                      partition, from);
                if (!status.is_ok()) {
                    status = log::segment_corruption(raw.file, raw.position + pos, status);
                }
            }
            pos += header.total_size();
        }
    }
    if (!status.is_ok()) {
        clear();
        return status;
    }
    // Records below `from` (in the first batch) are skipped.
    while (first_ < messages_.size() && messages_[first_].offset() < from) ++first_;
    next_ = first_;
    return Status::ok();
}

Status FetchedRecords::decode_batch(std::span<const std::byte> batch,
                                    const log::BatchHeader& header, PartitionId partition,
                                    Offset from) {
    MessageSink sink(messages_, bytes_.get(), partition);
    if (log::decode_short_batch(batch, header, sink)) return Status::ok();
    // Compressed, with headers or longer varints, or damaged: the general decoder.
    views_.clear();
    header_views_.clear();
    if (header.compression() != log::Compression::none) bytes_->decompressed.emplace_back();
    std::vector<std::byte> unused;
    auto decoded = log::decode_batch_views(
        batch, header.compression() == log::Compression::none ? unused : bytes_->decompressed.back(),
        views_, header_views_);
    if (!decoded.is_ok()) return decoded.status();
    if (messages_.capacity() - messages_.size() < views_.size()) {
        // More records than the header promised room for: moving the Messages is fine.
        messages_.reserve(messages_.size() + views_.size());
    }
    for (const log::RecordView& r : views_) {
        if (r.offset < from) continue;
        const Headers* headers = nullptr;
        if (r.header_count > 0) {
            Headers& built = bytes_->headers.emplace_back();
            built.reserve(r.header_count);
            for (const auto& h : r.headers_of(header_views_)) {
                built.push_back(Header{std::string(h.key),
                                       h.value ? std::optional<std::string>(*h.value)
                                               : std::nullopt});
            }
            headers = &built;
        }
        messages_.emplace_back(detail::SourceRef::adopt(bytes_.get()), partition, r.offset, r.key,
                               r.value, headers, r.timestamp, timestamp_type_of(r.timestamp_type));
    }
    return Status::ok();
}

void FetchedRecords::clear() {
    messages_.clear();
    first_ = 0;
    next_ = 0;
    bytes_ = FetchedBytesRef();
}

Offset FetchedRecords::emit(std::size_t n, std::vector<Message>& out) {
    const auto begin = messages_.begin() + static_cast<std::ptrdiff_t>(next_);
    next_ += n;
    out.insert(out.end(), std::make_move_iterator(begin),
               std::make_move_iterator(begin + static_cast<std::ptrdiff_t>(n)));
    return messages_[next_ - 1].offset() + 1;
}

Message FetchedRecords::take() { return std::move(messages_[next_++]); }

}  // namespace brook::client

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
            free_bytes_ -= bytes->raw.bytes.capacity();
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
    // Bytes viewed in place are not kept: a mapping would keep a segment that retention
    // removed on disk, and a tail block memory the segment has let go of.
    owned->raw.owner.reset();
    owned->raw.in_place = {};
    if (owned->raw.bytes.capacity() > max_kept_bytes_) return;
    owned->raw.headers.clear();
    owned->raw.hidden.clear();
    owned->decompressed.clear();
    owned->headers.clear();
    const std::size_t capacity = owned->raw.bytes.capacity();
    std::lock_guard lock(mu_);
    if (free_.size() < kMinFree || free_bytes_ + capacity <= kKeptBytes) {
        free_bytes_ += capacity;
        free_.push_back(std::move(owned));
    }
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

// The records `header` promises, bounded by its batch's size for a damaged count.
std::size_t promised_records(const log::BatchHeader& header) {
    return std::min<std::size_t>(header.record_count, header.total_size());
}

bool is_hidden(const log::RawBatches& raw, std::size_t i) {
    return i < raw.hidden.size() && raw.hidden[i];
}

}  // namespace

void FetchedRecords::reset(FetchedBytesRef bytes, PartitionId partition, Offset from) {
    clear();
    bytes_ = std::move(bytes);
    partition_ = partition;
    from_ = from;
    const log::RawBatches& raw = bytes_->raw;
    batch_count_ = raw.headers.size();
    end_offset_ = raw.headers.empty() ? from : raw.headers.back().last_offset() + 1;
    for (std::size_t i = 0; i < batch_count_; ++i) {
        if (!is_hidden(raw, i)) undecoded_ += promised_records(raw.headers[i]);
    }
}

Status FetchedRecords::emit(std::size_t n, std::vector<Message>& out) {
    const std::size_t limit = out.size() + n;
    emit_staged(n, out);
    if (out.size() == limit) return Status::ok();
    const log::RawBatches& raw = bytes_->raw;
    const std::span<const std::byte> batches = raw.batches();
    while (out.size() < limit && batch_ < batch_count_) {
        const std::size_t i = batch_++;
        const log::BatchHeader& header = raw.headers[i];
        const std::size_t at = position_;
        position_ += header.total_size();
        if (is_hidden(raw, i)) continue;
        const std::size_t promised = promised_records(header);
        undecoded_ -= promised;
        // The staging vector is empty here: emit_staged() left out short of `limit` only
        // by handing out every staged record.
        const bool whole = header.base_offset >= from_ && out.size() + promised <= limit;
        if (whole && out.capacity() - out.size() < promised) {
            out.reserve(std::min(limit, std::max(out.size() + promised, 2 * out.capacity())));
        }
        Status decoded =
            decode_batch(batches.subspan(at, header.total_size()), header, whole ? out : staged_);
        if (!decoded) {
            Status error = log::segment_corruption(raw.file, raw.position + at, decoded);
            clear();
            return error;
        }
        if (!whole) {
            // Records below the read's start (in its first batch) are skipped.
            while (next_ < staged_.size() && staged_[next_].offset() < from_) ++next_;
            emit_staged(limit - out.size(), out);
        }
    }
    return Status::ok();
}

void FetchedRecords::emit_staged(std::size_t n, std::vector<Message>& out) {
    const std::size_t k = std::min(n, staged_.size() - next_);
    if (k > 0) {
        const auto begin = staged_.begin() + static_cast<std::ptrdiff_t>(next_);
        out.insert(out.end(), std::make_move_iterator(begin),
                   std::make_move_iterator(begin + static_cast<std::ptrdiff_t>(k)));
        next_ += k;
    }
    if (next_ == staged_.size()) {
        staged_.clear();
        next_ = 0;
    }
}

Status FetchedRecords::decode_batch(std::span<const std::byte> batch,
                                    const log::BatchHeader& header,
                                    std::vector<Message>& messages) {
    const std::size_t before = messages.size();
    // The references the Messages adopted are counted at once when decoding ends, however it
    // ends (a failed decode drops its Messages, counting them first).
    struct CountAdopted {
        std::vector<Message>& messages;
        std::size_t before;
        const detail::MessageSource* source;
        ~CountAdopted() { source->acquire(static_cast<std::int64_t>(messages.size() - before)); }
    } count_adopted{messages, before, bytes_.get()};
    if (messages.capacity() - messages.size() < promised_records(header)) {
        messages.reserve(messages.size() + promised_records(header));
    }
    MessageSink sink(messages, bytes_.get(), partition_);
    if (log::decode_short_batch(batch, header, sink)) return Status::ok();
    // Compressed, with headers or longer varints, or damaged: the general decoder.
    views_.clear();
    header_views_.clear();
    if (header.compression() != log::Compression::none) bytes_->decompressed.emplace_back();
    std::vector<std::byte> unused;
    auto decoded = log::decode_batch_views(
        batch,
        header.compression() == log::Compression::none ? unused : bytes_->decompressed.back(),
        views_, header_views_);
    if (!decoded.is_ok()) return decoded.status();
    if (messages.capacity() - messages.size() < views_.size()) {
        // More records than the header promised room for: moving the Messages is fine.
        messages.reserve(messages.size() + views_.size());
    }
    for (const log::RecordView& r : views_) {
        if (r.offset < from_) continue;
        const Headers* headers = nullptr;
        if (r.header_count > 0) {
            Headers& built = bytes_->headers.emplace_back();
            built.reserve(r.header_count);
            for (const auto& h : r.headers_of(header_views_)) {
                built.push_back(
                    Header{std::string(h.key),
                           h.value ? std::optional<std::string>(*h.value) : std::nullopt});
            }
            headers = &built;
        }
        messages.emplace_back(detail::SourceRef::adopt(bytes_.get()), partition_, r.offset, r.key,
                              r.value, headers, r.timestamp, timestamp_type_of(r.timestamp_type));
    }
    return Status::ok();
}

void FetchedRecords::clear() {
    staged_.clear();
    next_ = 0;
    batch_ = 0;
    batch_count_ = 0;
    position_ = 0;
    undecoded_ = 0;
    bytes_ = FetchedBytesRef();
}

}  // namespace brook::client

// FetchedRecords: the records of a consumer's last read of one partition, decoded as views
// and handed out as Messages, and FetchPool, which recycles the buffers of those reads.
//
// A read's bytes live in a FetchedBytes, the detail::MessageSource of every Message made from
// it: the Messages keep it alive, view their key and value in its bytes, and point at the
// headers decoded into it once per read. When the last of them is gone it goes back to its
// FetchPool with its buffer's capacity, so that the next read reuses memory already faulted in
// instead of allocating (and zero-filling) a fresh megabyte.
//
// Thread safety: a FetchedRecords is used under its consumer's lock. A FetchPool may take
// back buffers on any thread (wherever the last Message of a read is destroyed).
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "log/raw_batches.hpp"

namespace brook::client {

// The bytes of one read and the headers decoded from them.
struct FetchedBytes final : detail::MessageSource {
    log::RawBatches raw;
    std::vector<std::vector<std::byte>> decompressed;  // of the zstd batches
    std::vector<Headers> headers;                      // of the records that have any, in order
};

class FetchPool : public std::enable_shared_from_this<FetchPool> {
  public:
    // Buffers whose capacity exceeds `max_kept_bytes` are freed instead of kept.
    explicit FetchPool(std::size_t max_kept_bytes) : max_kept_bytes_(max_kept_bytes) {}

    // A buffer for a read of `topic`, empty, recycled when one is free.
    std::shared_ptr<FetchedBytes> take(const std::string& topic);

  private:
    void give_back(FetchedBytes* bytes) noexcept;

    static constexpr std::size_t kMaxFree = 2;
    const std::size_t max_kept_bytes_;
    std::mutex mu_;  // guards free_
    std::vector<std::unique_ptr<FetchedBytes>> free_;
};

class FetchedRecords {
  public:
    // Replaces the records with those of `bytes` at or after `from`, decoding the batches
    // `bytes->raw` holds (checksums verified) and their headers.
    // @return corruption naming the file and position of a bad batch (the records are empty).
    Status decode(std::shared_ptr<FetchedBytes> bytes, Offset from);

    void clear();
    // Records decoded and not yet handed out.
    std::size_t remaining() const noexcept { return records_.size() - next_; }
    // Records the last decode() gave, handed out or not: what the next read of the partition
    // is likely to give too.
    std::size_t decoded() const noexcept { return records_.size(); }

    // Hands out the next `n` records as Messages of `partition`, appended to `out`.
    // REQUIRES: 0 < n <= remaining(). @return the offset after the last one.
    Offset emit(PartitionId partition, std::size_t n, std::vector<Message>& out);
    // The next record as a Message of `partition`. REQUIRES: remaining() > 0.
    Message take(PartitionId partition);

  private:
    // `make`'s result for record i of `partition`, given the arguments of a Message made of it.
    template <typename Make>
    decltype(auto) with_record(PartitionId partition, std::size_t i, Make&& make) const {
        const log::RecordView& r = records_[i];
        return make(bytes_, partition, r.offset, r.key, r.value,
                    headers_.empty() ? nullptr : headers_[i], r.timestamp,
                    r.timestamp_type == log::TimestampType::log_append_time
                        ? TimestampType::log_append_time
                        : TimestampType::create_time);
    }

    std::shared_ptr<const FetchedBytes> bytes_;
    std::vector<log::RecordView> records_;
    std::vector<log::HeaderView> header_views_;  // of records_
    // Per record, its headers in bytes_->headers; empty when no record has any.
    std::vector<const Headers*> headers_;
    std::size_t next_ = 0;
};

}  // namespace brook::client

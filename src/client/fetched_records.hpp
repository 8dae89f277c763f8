// FetchedRecords: the records of a consumer's last read of one partition, decoded straight
// into Messages viewing the read and handed out from there, and FetchPool, which recycles the
// buffers of those reads.
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
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "log/raw_batches.hpp"

namespace brook::client {

class FetchPool;

// The bytes of one read and the headers decoded from them.
struct FetchedBytes final : detail::MessageSource {
    log::RawBatches raw;
    std::vector<std::vector<std::byte>> decompressed;  // of the zstd batches
    std::deque<Headers> headers;  // of the records that have any, in order (stay in place)

  private:
    friend class FetchPool;
    // Hands the bytes back to `pool`.
    void recycle() const noexcept override;

    // The pool that handed the bytes out, kept alive until they are back; null in the pool.
    std::shared_ptr<FetchPool> pool;
};

// One reference to a FetchedBytes, and write access to it for the read that fills it.
class FetchedBytesRef {
  public:
    FetchedBytesRef() = default;
    // Takes a new reference to `bytes`.
    explicit FetchedBytesRef(FetchedBytes* bytes) noexcept : ref_(bytes) {}

    // REQUIRES: a reference is held.
    FetchedBytes* operator->() const noexcept { return get(); }
    FetchedBytes* get() const noexcept {
        // The bytes were made writable (by FetchPool); Messages see them const.
        return const_cast<FetchedBytes*>(static_cast<const FetchedBytes*>(ref_.get()));
    }
    explicit operator bool() const noexcept { return static_cast<bool>(ref_); }

  private:
    detail::SourceRef ref_;
};

class FetchPool : public std::enable_shared_from_this<FetchPool> {
  public:
    // Buffers whose capacity exceeds `max_kept_bytes` are freed instead of kept.
    explicit FetchPool(std::size_t max_kept_bytes) : max_kept_bytes_(max_kept_bytes) {}

    // A buffer for a read of `topic`, empty, recycled when one is free.
    FetchedBytesRef take(const std::string& topic);

  private:
    friend struct FetchedBytes;
    void give_back(FetchedBytes* bytes) noexcept;

    static constexpr std::size_t kMaxFree = 2;
    const std::size_t max_kept_bytes_;
    std::mutex mu_;  // guards free_
    std::vector<std::unique_ptr<FetchedBytes>> free_;
};

class FetchedRecords {
  public:
    // Replaces the records with those of `bytes` at or after `from`, as Messages of
    // `partition`, decoding the batches `bytes->raw` holds (checksums verified) and their
    // headers.
    // @return corruption naming the file and position of a bad batch (the records are empty).
    Status decode(FetchedBytesRef bytes, PartitionId partition, Offset from);

    void clear();
    // Records decoded and not yet handed out.
    std::size_t remaining() const noexcept { return messages_.size() - next_; }
    // Records the last decode() gave, handed out or not: what the next read of the partition
    // is likely to give too.
    std::size_t decoded() const noexcept { return messages_.size() - first_; }

    // Hands out the next `n` records, appended to `out`.
    // REQUIRES: 0 < n <= remaining(). @return the offset after the last one.
    Offset emit(std::size_t n, std::vector<Message>& out);
    // The next record. REQUIRES: remaining() > 0.
    Message take();

  private:
    // Appends the records of the batch `batch` (whose header is `header`) at or after `from`
    // to messages_, their headers to bytes_->headers. @return corruption for a bad batch.
    Status decode_batch(std::span<const std::byte> batch, const log::BatchHeader& header,
                        PartitionId partition, Offset from);

    FetchedBytesRef bytes_;
    // The decoded records, each holding a reference to bytes_ (taken with one atomic add when
    // the read is decoded); those before first_ lie below the read's start and are skipped,
    // those before next_ have been handed out (moved from).
    std::vector<Message> messages_;
    std::size_t first_ = 0;
    std::size_t next_ = 0;
    // Scratch space of the general decoder, kept for its capacity.
    std::vector<log::RecordView> views_;
    std::vector<log::HeaderView> header_views_;
};

}  // namespace brook::client

// FetchedRecords: the records of a consumer's last read of one partition, decoded batch by
// batch into Messages viewing the read as they are handed out, and FetchPool, which recycles
// the buffers of those reads.
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

    // The free buffers kept: at least kMinFree, and more while their capacities add up to at
    // most kKeptBytes, so that a consume() call holding many small reads at once (a low
    // max.partition.fetch.bytes) finds them again on its next call instead of allocating and
    // faulting in new ones. With the default 1 MiB reads that is four buffers: the memory of
    // two buffers of the largest size kept (2 MiB).
    static constexpr std::size_t kMinFree = 2;
    static constexpr std::size_t kKeptBytes = 4 << 20;
    const std::size_t max_kept_bytes_;
    std::mutex mu_;  // guards free_ and free_bytes_
    std::vector<std::unique_ptr<FetchedBytes>> free_;
    std::size_t free_bytes_ = 0;  // the capacities of free_'s read buffers
};

// The records of one read of a partition, decoded batch by batch as they are handed out: a
// batch that fits whole in what the caller asked for is decoded straight into the caller's
// vector, so that its Messages are built once, where the caller reads them; a batch that does
// not fit (or starts below the read's first offset) is decoded into a staging vector and handed
// out from there.
class FetchedRecords {
  public:
    // Replaces the records with those of the batches `bytes->raw` holds that are not hidden, at
    // or after `from`, as Messages of `partition`. Nothing is decoded yet.
    void reset(FetchedBytesRef bytes, PartitionId partition, Offset from);

    void clear();
    // Whether every record of the read has been handed out (or the read held none).
    bool empty() const noexcept { return next_ == staged_.size() && batch_ == batch_count_; }
    // At most how many records are left to hand out, from the batches' record counts.
    std::size_t remaining_at_most() const noexcept { return staged_.size() - next_ + undecoded_; }
    // The offset after the read's last batch. REQUIRES: a read was reset() in.
    Offset end_offset() const noexcept { return end_offset_; }

    // Appends up to `n` of the next records to `out`, checking and decoding batches as needed.
    // Records of the batches before a bad one are appended; the bad batch's are not, and the
    // records are cleared. The Messages are built in `out` (growing it as needed) when a batch
    // fits whole.
    // @return corruption naming the file and position of a bad batch.
    Status emit(std::size_t n, std::vector<Message>& out);

  private:
    // Appends the records of the batch `batch` (whose header is `header`) at or after from_ to
    // `messages`, their headers to bytes_->headers, each Message adopting a reference to
    // bytes_ that is counted once the batch is decoded.
    // @return corruption for a bad batch, with `messages` as it was.
    Status decode_batch(std::span<const std::byte> batch, const log::BatchHeader& header,
                        std::vector<Message>& messages);
    // Moves up to `n` staged records to `out`.
    void emit_staged(std::size_t n, std::vector<Message>& out);

    FetchedBytesRef bytes_;
    PartitionId partition_;
    Offset from_;
    Offset end_offset_;
    // The next batch to decode: its index in bytes_->raw.headers and its position in the
    // batches' bytes; how many batches the read holds; the records the batches not yet decoded
    // promise.
    std::size_t batch_ = 0;
    std::size_t batch_count_ = 0;
    std::size_t position_ = 0;
    std::size_t undecoded_ = 0;
    // A batch's records decoded but not yet handed out: those before next_ have been (moved
    // from).
    std::vector<Message> staged_;
    std::size_t next_ = 0;
    // Scratch space of the general decoder, kept for its capacity.
    std::vector<log::RecordView> views_;
    std::vector<log::HeaderView> header_views_;
};

}  // namespace brook::client

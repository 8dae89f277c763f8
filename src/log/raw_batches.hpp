// RawBatches: whole record batches read from a segment in one piece, not yet decoded.
//
// The read path hands these to whoever decodes them: PartitionLog::read decodes into owned
// Records, the Consumer decodes into views of the bytes so that a record is never copied on
// its way to a Message. Headers are parsed and checked; checksums are verified when decoding.
//
// Thread safety: a plain value.
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "log/record_batch.hpp"

namespace brook::log {

// Memory for a read of at least kPrefaultBytes, from malloc, with the whole pages inside it
// already mapped in: a read fills it whole, and having the kernel map its pages in one call
// (MADV_POPULATE_WRITE, Linux 5.14) costs less than a page fault on each, which on a virtual
// machine that maps pages in software costs about 10 us a page. Pages malloc reuses are mapped
// already, and the call then only checks them. Where the kernel cannot, pages fault in as
// usual. (Not aligned_alloc: glibc serves each such request with a fresh mmap, so every read
// would map in new pages.)
// @return null if the memory could not be allocated.
void* allocate_read_memory(std::size_t bytes) noexcept;
void free_read_memory(void* memory) noexcept;
inline constexpr std::size_t kPrefaultBytes = std::size_t{256} << 10;

// Allocates bytes for reads: without initializing them (a read overwrites its buffer, so the
// zero-fill of std::vector<std::byte>::resize would be wasted work), and large buffers already
// mapped in (allocate_read_memory).
template <typename T>
struct ReadBufferAllocator : std::allocator<T> {
    template <typename U>
    struct rebind {
        using other = ReadBufferAllocator<U>;
    };
    ReadBufferAllocator() = default;
    template <typename U>
    ReadBufferAllocator(const ReadBufferAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n * sizeof(T) < kPrefaultBytes) return std::allocator<T>::allocate(n);
        void* memory = allocate_read_memory(n * sizeof(T));
        if (memory == nullptr) throw std::bad_alloc();
        return static_cast<T*>(memory);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) < kPrefaultBytes) return std::allocator<T>::deallocate(p, n);
        free_read_memory(p);
    }
    template <typename U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};
using ReadBuffer = std::vector<std::byte, ReadBufferAllocator<std::byte>>;

// Where a read found its batches.
enum class ReadSource {
    file,         // copied out of the segment file, into RawBatches::bytes
    mapping,      // viewed in a read-only mapping of the segment file
    tail_buffer,  // viewed in the segment's copies of its newest batches (TailBuffer)
};

struct RawBatches {
    std::string file;            // the segment's .log path, for error messages
    std::uint64_t position = 0;  // where batches() starts in that file
    ReadBuffer bytes;            // whole batches, back to back, when copied out of the file
    // When the batches were viewed in place instead (in a read-only mapping of the segment
    // file, or in the segment's copies of its newest batches): what keeps them valid as long
    // as it is held, and the batches.
    std::shared_ptr<const void> owner;
    std::span<const std::byte> in_place;
    ReadSource source = ReadSource::file;
    std::vector<BatchHeader> headers;
    // Per batch: true when a reader must skip its records (a control batch, or with
    // read_committed a batch of an aborted transaction) and only move past it. Set by
    // PartitionLog::read_raw; empty means none is hidden.
    std::vector<bool> hidden;

    // Empties it for a new read: no batches and nothing held, the buffers' capacity kept.
    void clear() {
        bytes.clear();
        owner.reset();
        in_place = {};
        source = ReadSource::file;
        headers.clear();
        hidden.clear();
    }

    // The batches, back to back, wherever they are.
    std::span<const std::byte> batches() const noexcept {
        return owner ? in_place : std::span<const std::byte>(bytes);
    }
};

// The corruption error for damage at `position` of `file`, with what to do about it.
Status segment_corruption(const std::string& file, std::uint64_t position, const Status& cause);

// Decodes every batch of `raw` (checksums verified) into owned records, dropping records below
// `from`. @return corruption naming the file and position of a bad batch.
Result<std::vector<DecodedBatch>> decode_raw(const RawBatches& raw, Offset from);

// Decodes every batch of `raw` that is not hidden into `records` as views into raw.batches() (or
// into buffers added to `decompressed` for zstd batches), dropping records below `from`, with
// their headers appended to `headers` (see RecordView::headers_of). `raw` and `decompressed`
// must outlive the views; `decompressed` may grow but its elements must not be changed.
// @return corruption naming the file and position of a bad batch.
Status decode_raw_views(const RawBatches& raw, Offset from,
                        std::vector<std::vector<std::byte>>& decompressed,
                        std::vector<RecordView>& records, std::vector<HeaderView>& headers);

}  // namespace brook::log

// SparseBuffer: the bytes of one in-memory file, kept in anonymous memory so that bytes never
// written cost no memory, as a hole in a sparse file costs no disk.
//
// An index file is preallocated to segment.index.bytes (10 MiB by default) and only its first
// pages are written; with a std::vector each new segment of an in-memory store allocated and
// zeroed 20 MiB. Here growing the buffer reserves address space, and the kernel supplies zeroed
// pages when they are first touched. A buffer smaller than kMappedFrom lives on the heap
// instead: a new mapping costs a system call and a page fault, which a store of many small
// files (checkpoints, short segments) would pay on every file.
//
// Invariant: every byte from size() to the end of the reservation is zero.
//
// Thread safety: none; MemoryFileSystem guards each file's buffer with the file's mutex.
// data() moves when resize() or write() grows the buffer past its reservation.
#pragma once

#include <cstddef>
#include <span>

#include "brook/status.hpp"

namespace brook::fs {

class SparseBuffer {
  public:
    SparseBuffer() = default;
    ~SparseBuffer();
    SparseBuffer(const SparseBuffer&) = delete;
    SparseBuffer& operator=(const SparseBuffer&) = delete;

    std::byte* data() { return base_; }
    const std::byte* data() const { return base_; }
    std::size_t size() const { return size_; }

    // Sets the size. Bytes past the old size read as zero; bytes cut off are released.
    // @return no_space when the memory cannot be reserved; the buffer is then unchanged.
    Status resize(std::size_t size);

    // Writes `bytes` at `offset`, growing the buffer to hold them; writing no bytes changes
    // nothing, as with pwrite.
    // @return no_space as resize() does.
    Status write(std::size_t offset, std::span<const std::byte> bytes);

  private:
    static constexpr std::size_t kMappedFrom = 64 * 1024;
    // 64 TiB, half of what a Linux process can address: sizes stay far from overflow.
    static constexpr std::size_t kLargest = std::size_t{1} << 46;

    // Frees a reservation made by reserve(); `capacity` tells heap from mapping.
    static void release(std::byte* base, std::size_t capacity);

    // Moves the contents to a reservation of at least `capacity` bytes.
    Status reserve(std::size_t capacity);

    // Zeroes the bytes from `from` to size(). REQUIRES: from < size().
    void zero_tail(std::size_t from);

    std::byte* base_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;  // bytes reserved at base_; whole pages when mapped
};

}  // namespace brook::fs

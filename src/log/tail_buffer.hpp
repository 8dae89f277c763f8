// TailBuffer: a copy of the batches most recently appended to a segment, for readers at the
// tail, and InPlaceBytes, a run of a segment's bytes that a read can view without copying.
//
// A consumer that keeps up with its producer asks, on every poll, for the batch appended just
// before. Reading it from the file costs a system call (pread), or, through a read-only
// mapping, a page fault for every new page; either costs more than the rest of the hand-off.
// The segment's appender therefore also copies each batch it writes into a TailBuffer, once a
// reader has reached the segment's end (until then nobody reads the tail, and the copies would
// only cost memory). Such a reader then views the newest batches in memory.
//
// The copies live in blocks of kBlockBytes. A batch that does not fit in the current block
// starts a new one; a batch larger than a block is not copied (its reader pays one system
// call for many bytes), and the next batch starts a new block. A block never has a gap, so a
// block holds every byte from its start to its end. Blocks are shared: a reader keeps the one
// it views, and the appender starts a new one rather than reuse memory a reader may hold.
// A block's memory goes back to its TailBuffer when the last holder drops the block, and the
// next new block reuses it: a fresh buffer would cost a page fault for each of its pages on
// the first write (tens of µs on some virtual machines, in the appender's path). So a tail
// that readers keep up with holds two buffers, 2 × kBlockBytes, until release().
//
// Thread safety: append() and release() are called by the segment's appender only (under the
// log's append lock), and before the segment publishes the appended bytes; find() and want()
// may be called by any thread at any time. A reader views only bytes below the segment's
// published size, which the appender copied before publishing them.
#pragma once

#include <atomic>
#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

namespace brook::log {

// Bytes of a segment file held in memory: those from file position `start` up to `end`, the
// first of which belongs to the batch with base offset `first_offset`. `owner` keeps them
// valid. Empty (data null) when there are none.
struct InPlaceBytes {
    std::shared_ptr<const void> owner;
    const std::byte* data = nullptr;  // the byte at file position `start`
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    Offset first_offset;

    explicit operator bool() const noexcept { return data != nullptr; }
    // True if every byte from `from` up to `to` is here.
    bool holds(std::uint64_t from, std::uint64_t to) const noexcept {
        return data != nullptr && from >= start && to <= end;
    }
    // The bytes from file position `from` up to `to`.
    // REQUIRES: holds(from, to).
    std::span<const std::byte> view(std::uint64_t from, std::uint64_t to) const noexcept {
        return {data + (from - start), static_cast<std::size_t>(to - from)};
    }
};

class TailBuffer {
  public:
    static constexpr std::size_t kBlockBytes = 128 << 10;

    // Copies `batch`, whose base offset is `base` and which was written at file position
    // `position`, if a reader wants the tail (see want()).
    // REQUIRES: the batch follows the previous one appended, as the file holds them.
    void append(std::uint64_t position, Offset base, std::span<const std::byte> batch);

    // Drops the copies, for a segment that takes no more appends. Readers keep what they view.
    void release();

    // Asks the appender to copy the batches it appends from now on. Every poll at the tail
    // asks; only the first writes, so that polls do not keep taking the appender's cache line.
    void want() const noexcept {
        if (!wanted_.load(std::memory_order_relaxed)) {
            wanted_.store(true, std::memory_order_relaxed);
        }
    }

    // The block of copies that holds the batches from offset `from` up to file position
    // `limit`, or empty if none does. `limit` must be a size the segment published.
    InPlaceBytes find(Offset from, std::uint64_t limit) const;

  private:
    // The buffer of a block that nobody holds any more, for the next block. Shared with the
    // blocks, whose last holder gives its buffer back from whichever thread it runs on.
    struct Spare {
        std::mutex mu;
        std::unique_ptr<std::byte[]> buffer;  // guarded by mu
    };
    struct Block {
        Block(std::uint64_t start, Offset first_offset, std::shared_ptr<Spare> spare);
        ~Block();
        const std::uint64_t start;
        const Offset first_offset;
        std::unique_ptr<std::byte[]> bytes;
        const std::shared_ptr<Spare> spare;
        std::atomic<std::uint64_t> end{start};  // raised after the bytes below it are copied
    };

    mutable std::atomic<bool> wanted_{false};  // set by readers, read by the appender
    mutable std::mutex mu_;  // guards block_'s pointer; the appender alone changes it
    std::shared_ptr<Block> block_;
    // The appender's alone; release() replaces it, so that blocks readers still hold give
    // their buffers to the old one, which is freed with the last of them.
    std::shared_ptr<Spare> spare_ = std::make_shared<Spare>();
};

}  // namespace brook::log

// IndexFile: the file machinery shared by the offset index and the time index.
//
// An index file is a 32-byte header followed by fixed-size entries (layout: log/format.hpp).
// IndexFile owns the open file and its memory mapping, stores raw entry bytes, publishes the
// entry count to readers, and seals, unseals and validates the file. It knows nothing about
// what an entry means; OffsetIndex and TimeIndex encode, decode and search entries.
//
// Writing: while unsealed the file is preallocated to max_bytes and entries are written in
// place. Sealing records the count and an XXH3-64 checksum of the entries in the header, sets
// the sealed flag and trims the file to exactly the header and the entries. Only a sealed file
// whose checks all pass is opened; anything else is reported as corruption and rebuilt by the
// caller from the log.
//
// Opening: a sealed file is checked from chunks read with read_at, not through a mapping, and
// is mapped only when a reader first needs its entries. Opening a store therefore maps and
// faults in no index page, and an index nobody reads costs a file descriptor and no mapping.
//
// Ownership: each OffsetIndex or TimeIndex owns one IndexFile; the FileSystem it was opened
// with must outlive it. Thread safety: one thread (the
// partition's appender) calls append(), truncate_to(), seal(), unseal() and sync(). Any number
// of threads may call read() and entry_count() at the same time. append() writes the entry
// bytes first and then publishes the new count with release order, so a reader that loads the
// count with acquire order sees whole entries only. seal() and unseal() replace the mapping
// under an exclusive lock that read() holds shared, so a reader never sees a dropped mapping.
//
// If replacing the mapping fails and the file cannot be mapped again, the index degrades to
// empty and full: lookups then return "no entry", which only makes callers scan from the
// segment start, and the failed call reports the error. A first mapping for a reader that
// fails (the process is out of address space or of mappings) reads as empty the same way,
// until a later read or unseal() maps the file; no read can report it, unseal() does.
#pragma once

#include <array>
#include <atomic>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>

#include "fs/file_system.hpp"
#include "log/format.hpp"

namespace brook::log {

// What distinguishes one index kind's files from another's.
struct IndexKind {
    std::uint32_t magic;
    std::size_t entry_size;  // at most kMaxIndexEntrySize
    std::string_view name;   // for messages, such as "offset index"
    // True if entry `next` may follow entry `previous` in a valid file (each kind's columns
    // strictly increase).
    bool (*ordered)(const std::byte* previous, const std::byte* next) noexcept;
};

inline constexpr std::size_t kMaxIndexEntrySize = 16;

// Whether IndexFile::seal makes the sealed file durable before it returns. An index is derived
// from its segment's .log: an open that finds it unsealed, torn or missing rebuilds it from the
// log (Segment::open_files), so a seal may leave the index to the kernel's write-back.
enum class IndexSync {
    now,        // msync and fdatasync before returning
    writeback,  // the kernel writes it back when it will
};

class IndexFile {
  public:
    // The published entries, as seen by one read(). Valid only inside that call.
    class View {
      public:
        std::size_t size() const noexcept { return count_; }
        // The bytes of entry i. REQUIRES: i < size().
        const std::byte* operator[](std::size_t i) const noexcept {
            return entries_ + i * entry_size_;
        }
        // The first index i in [0, size()) for which pred(entry bytes) is false, given that
        // pred is true for a prefix of the entries and false for the rest.
        template <typename Pred>
        std::size_t partition_point(Pred pred) const {
            std::size_t lo = 0;
            std::size_t hi = count_;
            while (lo < hi) {
                std::size_t mid = lo + (hi - lo) / 2;
                if (pred((*this)[mid])) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }

      private:
        friend class IndexFile;
        View(const std::byte* entries, std::size_t count, std::size_t entry_size) noexcept
            : entries_(entries), count_(count), entry_size_(entry_size) {}
        const std::byte* entries_;
        std::size_t count_;
        std::size_t entry_size_;
    };

    // Creates an empty, unsealed index at `path`, replacing any file there. The file is sized
    // to `max_bytes` rounded down to the header plus whole entries.
    // @return invalid_argument if max_bytes cannot hold the header and one entry; io_error,
    //         no_space from the file system.
    static Result<std::unique_ptr<IndexFile>> create(fs::FileSystem& fs, const std::string& path,
                                                     const IndexKind& kind, Offset base_offset,
                                                     std::size_t max_bytes);

    // Opens a sealed index and checks its header, the checksum of its entries and their
    // order (IndexKind::ordered). Reads the file in chunks and does not map it.
    // @return not_found if the file is missing; corruption, naming the failed check, if the
    //         file is not a sealed index of this kind for `base_offset`; io_error otherwise.
    static Result<std::unique_ptr<IndexFile>> open_sealed(fs::FileSystem& fs,
                                                          const std::string& path,
                                                          const IndexKind& kind,
                                                          Offset base_offset);

    IndexFile(const IndexFile&) = delete;
    IndexFile& operator=(const IndexFile&) = delete;

    // Runs fn(View) over the published entries while holding the mapping, and returns what fn
    // returns. Maps a sealed file on its first read. Any thread.
    template <typename Fn>
    decltype(auto) read(Fn&& fn) const {
        std::shared_lock lock(mapping_mutex_);
        if (!mapped_) {
            lock.unlock();
            map_for_readers();
            lock.lock();
        }
        if (!region_) return fn(View(nullptr, 0, kind_.entry_size));
        return fn(View(region_->data() + format::kIndexHeaderSize,
                       count_.load(std::memory_order_acquire), kind_.entry_size));
    }

    // Copies the last published entry (entry-size bytes) into `out` and returns true, or
    // returns false if there is none. Does not map a sealed file no reader has needed yet.
    // Any thread. REQUIRES: out.size() >= the kind's entry size.
    bool last_entry(std::span<std::byte> out) const;

    // Writes one entry after the published ones, then publishes it.
    // REQUIRES: not sealed, !full(), entry.size() == the kind's entry size.
    void append(std::span<const std::byte> entry) noexcept;

    // Lowers the published count to `count`. Waits for running reads to finish, so a later
    // append() never rewrites bytes a reader is looking at. REQUIRES: count <= entry_count().
    void truncate_to(std::size_t count) noexcept;

    std::size_t entry_count() const noexcept { return count_.load(std::memory_order_acquire); }
    // How many entries the current file can hold. capacity() and full() are for the appender.
    std::size_t capacity() const noexcept { return capacity_; }
    bool full() const noexcept { return entry_count() >= capacity_; }
    bool sealed() const noexcept { return sealed_.load(std::memory_order_acquire); }
    Offset base_offset() const noexcept { return base_offset_; }
    const std::string& path() const noexcept { return file_->path(); }

    // Records count, `log_bytes` (the size of the segment's .log, or 0 if not known) and the
    // checksum in the header, sets the sealed flag, trims the file to the entries and, with
    // IndexSync::now, syncs it. REQUIRES: not sealed.
    Status seal(std::uint32_t log_bytes = 0, IndexSync sync = IndexSync::now);
    // The .log size recorded at seal, or 0 if none was (or the index is not sealed).
    std::uint32_t sealed_log_bytes() const;
    // Clears the sealed flag and grows the file back to `max_bytes` (rounded down to whole
    // entries). REQUIRES: sealed.
    // @return invalid_argument if max_bytes cannot hold the current entries.
    Status unseal(std::size_t max_bytes);
    // Makes the mapped bytes durable (msync). A sealed file not yet mapped has nothing to sync.
    Status sync();

  private:
    IndexFile(std::unique_ptr<fs::File> file, std::unique_ptr<fs::MappedRegion> region,
              fs::FileSystem& fs, const IndexKind& kind, Offset base_offset, std::size_t count,
              bool sealed);

    std::size_t file_size_for(std::size_t entries) const noexcept {
        return format::kIndexHeaderSize + entries * kind_.entry_size;
    }
    // Maps the sealed file if no one has yet. On failure the index reads as empty.
    void map_for_readers() const;
    // Maps the sealed file if no one has yet. REQUIRES: mapping_mutex_ held exclusively.
    Status map_locked() const;
    // Drops the mapping, resizes the file to `size` and maps it again.
    Status resize_mapping(std::size_t size);
    Status lost_mapping() const;

    fs::FileSystem& fs_;
    IndexKind kind_;
    Offset base_offset_;
    std::unique_ptr<fs::File> file_;
    // Replaced by the appender, and made by the first reader of a sealed file that open_sealed
    // left unmapped, under an exclusive lock on mapping_mutex_; readers hold the lock shared
    // while they use it. mapped_ is false until a mapping of that file succeeds or the
    // appender replaces it; both are guarded by mapping_mutex_.
    mutable std::unique_ptr<fs::MappedRegion> region_;
    mutable bool mapped_;
    mutable std::shared_mutex mapping_mutex_;
    std::atomic<std::size_t> count_;
    std::size_t capacity_;
    std::atomic<bool> sealed_;
    // The .log size the header records (0 if none or not sealed; set by open_sealed, seal()
    // and unseal()), and open_sealed's copy of the last entry, for answers that need no
    // mapping.
    std::atomic<std::uint32_t> sealed_log_bytes_{0};
    std::array<std::byte, kMaxIndexEntrySize> opened_last_entry_{};
};

}  // namespace brook::log

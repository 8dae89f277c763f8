// OffsetIndex: the sparse offset index (.index) of one segment.
//
// It maps the base offset of some batches to their byte position in the segment's .log file.
// The segment adds an entry after every index.interval.bytes of log. A lookup is a binary
// search for the last entry at or below the target; the caller then scans forward in the log
// from that position, never from the segment start.
//
// The file is preallocated to segment.index.bytes, memory-mapped and filled in place. When the
// segment rolls, or the log closes cleanly, the index is sealed: the header records the entry
// count and a checksum of the entries, and the file is trimmed to exactly those entries. A
// sealed index whose checksum matches is trusted on open, and mapped at the first lookup;
// anything else is rebuilt from the log.
// Layout: log/format.hpp and docs/format.md.
//
// Ownership: the Segment owns its indexes. Thread safety: one thread (the partition's appender)
// calls the mutating methods; any number of threads may call lookup(), entry_count(),
// last_entry() and entry() at the same time. Readers only see entries whose writes completed.
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fs/file_system.hpp"
#include "log/index_file.hpp"

namespace brook::log {

class OffsetIndex {
  public:
    struct Entry {
        Offset offset;           // base offset of the batch
        std::uint32_t position;  // byte position of that batch in the .log file
        friend bool operator==(const Entry&, const Entry&) = default;
    };

    // Creates an empty index at `path`, replacing any file there, preallocated to `max_bytes`.
    // @return invalid_argument if max_bytes cannot hold the header and one entry; io_error,
    //         no_space from the file system.
    static Result<std::unique_ptr<OffsetIndex>> create(fs::FileSystem& fs, const std::string& path,
                                                       Offset base_offset, std::size_t max_bytes);

    // Opens an existing sealed index and checks it: magic, version, base offset, entry count
    // within the file, checksum, entries strictly increasing.
    // @return corruption if any check fails or the index is not sealed (the caller rebuilds);
    //         not_found if the file is missing.
    static Result<std::unique_ptr<OffsetIndex>> open_sealed(fs::FileSystem& fs,
                                                            const std::string& path,
                                                            Offset base_offset);

    // Appends an entry.
    // REQUIRES: not sealed, !full(), offset and position strictly above the last entry's,
    //           offset - base_offset fits in u32.
    void append(Offset offset, std::uint32_t position) noexcept;

    // The last entry whose offset is <= target, or {base_offset, 0} if there is none.
    Entry lookup(Offset target) const noexcept;

    // The position of the last entry whose position is <= `position` (a batch start), or
    // nullopt if there is none.
    std::optional<std::uint32_t> last_position_at_or_below(std::uint64_t position) const noexcept;

    // Drops every entry whose offset is >= `offset` (used when the log is truncated).
    // REQUIRES: not sealed.
    void truncate_from(Offset offset) noexcept;

    // True when no further entry fits in the preallocated file.
    bool full() const noexcept;
    std::size_t entry_count() const noexcept;
    std::optional<Entry> last_entry() const noexcept;
    // REQUIRES: i < entry_count().
    Entry entry(std::size_t i) const noexcept;

    // Records count, the segment's .log size `log_bytes` (0: not known) and the checksum in the
    // header, trims the file to the entries and, with IndexSync::now, syncs it.
    Status seal(std::uint32_t log_bytes = 0, IndexSync sync = IndexSync::now);
    // The .log size recorded at seal; 0 if none was (older files) or the index is not sealed.
    std::uint32_t sealed_log_bytes() const;
    // Reopens a sealed index for appending: clears the sealed flag and grows the file back to
    // `max_bytes`. Used for the active segment after a clean shutdown.
    Status unseal(std::size_t max_bytes);
    // Makes the entries durable (msync). Not needed for correctness: recovery rebuilds.
    Status sync();
    bool sealed() const noexcept;
    Offset base_offset() const noexcept;

  private:
    explicit OffsetIndex(std::unique_ptr<IndexFile> file) : file_(std::move(file)) {}
    std::unique_ptr<IndexFile> file_;
};

}  // namespace brook::log

// TimeIndex: the sparse time index (.timeindex) of one segment.
//
// Each entry says "by the batch starting at this offset, the largest timestamp seen in the
// segment had reached T". Entries are only added when the maximum grows, so both columns are
// strictly increasing. To find the first offset whose timestamp is >= T, the segment takes the
// last entry whose timestamp is < T: no batch before that entry's batch can hold a timestamp
// >= T, so the scan starts there (or at the segment start when there is no such entry).
//
// File handling (preallocation, mapping, sealing, trusting and rebuilding) is the same as
// OffsetIndex's; see offset_index.hpp. Layout: log/format.hpp and docs/format.md.
//
// Ownership: the Segment owns its indexes. Thread safety: as OffsetIndex.
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

class TimeIndex {
  public:
    struct Entry {
        std::int64_t timestamp;  // max timestamp in the segment up to and including the batch
        Offset offset;           // base offset of the batch where that maximum was reached
        friend bool operator==(const Entry&, const Entry&) = default;
    };

    static Result<std::unique_ptr<TimeIndex>> create(fs::FileSystem& fs, const std::string& path,
                                                     Offset base_offset, std::size_t max_bytes);
    static Result<std::unique_ptr<TimeIndex>> open_sealed(fs::FileSystem& fs,
                                                          const std::string& path,
                                                          Offset base_offset);

    // REQUIRES: not sealed, !full(), timestamp and offset strictly above the last entry's.
    void append(std::int64_t timestamp, Offset offset) noexcept;

    // The last entry whose timestamp is < target, if any.
    std::optional<Entry> last_before(std::int64_t target) const noexcept;

    // Drops every entry whose offset is >= `offset`. REQUIRES: not sealed.
    void truncate_from(Offset offset) noexcept;

    bool full() const noexcept;
    std::size_t entry_count() const noexcept;
    std::optional<Entry> last_entry() const noexcept;
    // REQUIRES: i < entry_count().
    Entry entry(std::size_t i) const noexcept;

    Status seal(IndexSync sync = IndexSync::now);
    Status unseal(std::size_t max_bytes);
    Status sync();
    bool sealed() const noexcept;
    Offset base_offset() const noexcept;

  private:
    explicit TimeIndex(std::unique_ptr<IndexFile> file) : file_(std::move(file)) {}
    std::unique_ptr<IndexFile> file_;
};

}  // namespace brook::log

// Segment: one file set of a partition log, holding the batches from its base offset onward.
//
// A segment is `<base>.log` (batches back to back), `<base>.index` (sparse offset index) and
// `<base>.timeindex` (sparse time index), where <base> is the base offset padded to 20 digits.
// The newest segment of a partition is active: the appender adds batches to it. Older segments
// are sealed: fsynced, their indexes trimmed and checksummed, and never written again.
//
// Publication: append() writes the batch bytes, then the index entries, and only then raises
// size(). Readers read at most size() bytes, so they never see a partly written batch.
//
// Ownership: a PartitionLog owns its segments through shared_ptr; a reader that holds one may
// keep reading it after the log has dropped it (the open descriptors keep the data alive).
// Thread safety: one thread at a time (the partition's appender, under the log's append lock)
// may call append, seal, unseal, sync and truncate_to. Any number of threads may call the
// const methods concurrently with it and with each other.
#pragma once

#include <atomic>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fs/file_system.hpp"
#include "log/log_config.hpp"
#include "log/offset_index.hpp"
#include "log/raw_batches.hpp"
#include "log/record_batch.hpp"
#include "log/tail_buffer.hpp"
#include "log/time_index.hpp"

namespace brook::log {

class Segment {
  public:
    // Creates the three files of a new empty segment and makes their directory entries durable.
    // @return already_exists if a .log with this base offset is there; io_error, no_space
    //         (and then no file of the segment is left behind).
    static Result<std::shared_ptr<Segment>> create(fs::FileSystem& fs, const std::string& dir,
                                                   Offset base, const LogConfig& config);

    // Opens a segment whose log is known to be complete (sealed at roll, or the active segment
    // after a clean shutdown). Trusts its sealed indexes; an index that is missing or fails its
    // checks makes both be rebuilt from the log, and any bad batch met then is corruption.
    // With `active`, the appender state (next offset, rolling time) is loaded; the indexes stay
    // sealed, so an untouched segment costs no write: unseal() before the first append.
    static Result<std::shared_ptr<Segment>> open(fs::FileSystem& fs, const std::string& dir,
                                                 Offset base, const LogConfig& config, bool active);

    // Opens a segment after an unclean shutdown: validates every batch and rebuilds both
    // indexes. With `allow_torn_tail` (the last segment), a bad batch that no valid batch
    // follows is a torn write and is cut off; otherwise, and whenever valid batches follow,
    // a bad batch is corruption naming the file and position. With `active` the segment stays
    // open for appends; otherwise it is sealed.
    static Result<std::shared_ptr<Segment>> recover(fs::FileSystem& fs, const std::string& dir,
                                                    Offset base, const LogConfig& config,
                                                    bool active, bool allow_torn_tail);

    // Opens a segment that another process writes, for reading only. The log is opened
    // read-only and both indexes are built on `index_fs` (a private in-memory file system) by
    // scanning the log. In the `last` segment the scan stops quietly at a batch the writer has
    // not finished; elsewhere, and whenever valid batches follow, a bad batch is corruption.
    static Result<std::shared_ptr<Segment>> follow(fs::FileSystem& fs, fs::FileSystem& index_fs,
                                                   const std::string& dir, Offset base,
                                                   const LogConfig& config, bool last);

    // For a followed segment: indexes and publishes the batches the writer has completed
    // since the last scan. @return corruption as for follow(); io_error.
    Status catch_up(const LogConfig& config);

    // File names of a segment.
    static std::string file_name(Offset base, std::string_view suffix);
    // Parses "<20 digits><suffix>". nullopt if `name` is not a segment file name.
    static std::optional<Offset> parse_file_name(std::string_view name, std::string_view suffix);

    // True if the batch should go to a new segment instead: this one is not empty and the
    // batch would pass segment.bytes, `time_ms` (the batch's max timestamp on append, the
    // clock for an idle segment) is more than segment.ms past the first batch's max timestamp,
    // an index has no room left, or the batch's offsets would not fit relative to the base.
    bool should_roll(std::size_t batch_bytes, Offset batch_last_offset, std::int64_t time_ms,
                     const LogConfig& config) const noexcept;

    // Appends one encoded batch, whose header has its final base offset, and publishes it.
    // REQUIRES: !sealed(); header is parse_batch_header(batch).
    // @return the file system's error. If the partial write could not be cut off again, the
    //         status carries SubCode::fail_stopped and the segment must not be appended to.
    Status append(std::span<const std::byte> batch, const BatchHeader& header,
                  const LogConfig& config);

    // Reads whole batches starting with the first whose last offset is >= `from`, until
    // `max_bytes` is reached (the first batch is returned whole even if larger) or a batch
    // starts at or after `end`. Records below `from` are dropped. Empty if this segment holds
    // nothing at or after `from`.
    // @return corruption (naming file and position) if a batch fails its checks; io_error.
    Result<std::vector<DecodedBatch>> read(Offset from, std::size_t max_bytes, Offset end) const;

    // How read_raw_into() gets the bytes of the batches that are not in the tail buffer (those
    // are always viewed there, in raw.in_place).
    enum class ReadMode {
        copy,  // into raw.bytes, with read_at()
        // Viewed in place in a read-only mapping of the file (raw.in_place), kept with the
        // segment and made again when a read passes its end; copied as above where the file
        // system cannot map the file. map_sealed promises that the segment takes no more
        // appends (it is not the active one). With map_active the mapping reaches
        // kActiveMapAhead bytes past the segment's end, where the next appends land, so that
        // a consumer at the tail reads them without a system call.
        map_sealed,
        map_active,
    };
    static constexpr std::uint64_t kActiveMapAhead = 16 << 20;

    // As read(), but returns the batches undecoded (their checksums not yet verified), read
    // with one system call unless the first batch is larger than `max_bytes` (none when they
    // are in the tail buffer or mapped). A copy ends at the last batch start the offset index
    // holds within `max_bytes`, so that a sequential reader copies no batch twice. Records
    // below `from` are still in the first batch.
    // A read that reaches the segment's end asks the appender to keep copies of the batches it
    // appends next (TailBuffer).
    // @return corruption (naming file and position) if a header fails its checks; io_error.
    Result<RawBatches> read_raw(Offset from, std::size_t max_bytes, Offset end) const;
    // As read_raw(), into `raw`, reusing its buffers' memory.
    Status read_raw_into(Offset from, std::size_t max_bytes, Offset end, RawBatches& raw,
                         ReadMode mode = ReadMode::copy) const;

    // The offset of the first record whose timestamp is >= target, or nullopt if this segment
    // has none.
    Result<std::optional<Offset>> offset_for_timestamp(std::int64_t target) const;

    // Seals the segment: records the final time index entry, fsyncs the log and seals both
    // indexes (trimmed and checksummed; fsynced with IndexSync::now). A roll passes
    // IndexSync::writeback: the log it seals is durable, and an index that a crash leaves
    // unsealed or torn is rebuilt from it at the next open.
    Status seal(IndexSync indexes = IndexSync::now);
    // Reopens a sealed segment for appends: grows its indexes back to segment.index.bytes.
    Status unseal(const LogConfig& config);
    // fsyncs the log file.
    Status sync();

    Offset base_offset() const noexcept { return base_; }
    // Bytes of published batches.
    std::uint64_t size() const noexcept { return size_.load(std::memory_order_acquire); }
    // The largest timestamp in the segment, or nullopt when it is empty.
    std::optional<std::int64_t> max_timestamp() const noexcept;
    // One past the last offset appended to this segment (valid for the active segment and for
    // recovered segments; sealed segments opened without a scan report their base offset).
    Offset next_offset() const noexcept { return next_offset_; }
    bool sealed() const noexcept { return sealed_; }
    const std::string& log_path() const noexcept { return log_->path(); }

  private:
    struct Files;
    Segment(fs::FileSystem& fs, std::string dir, Offset base, std::unique_ptr<fs::File> log,
            std::unique_ptr<OffsetIndex> offset_index, std::unique_ptr<TimeIndex> time_index,
            std::uint64_t size);

    static Result<std::shared_ptr<Segment>> open_files(fs::FileSystem& fs, const std::string& dir,
                                                       Offset base, const LogConfig& config,
                                                       bool rebuild_indexes);
    // What a scan does with a bad batch that no valid batch follows.
    enum class TailRule {
        corrupt,   // report corruption: the segment was complete
        truncate,  // cut it off: a torn write after a crash
        stop,      // stop before it: the writer is still writing it
    };
    // Validates and indexes every batch from size() to the end of the file, then publishes.
    Status scan(const LogConfig& config, TailRule tail);
    // Adds index entries for a batch at `position`, as append() does.
    void index_batch(std::uint64_t position, const BatchHeader& header, const LogConfig& config);
    // Restores the appender's bookkeeping of an existing segment without scanning it.
    Status load_appender_state();
    // The header of the batch at `position`, checked against `limit` (the readable size):
    // from `in_place` if it holds the header, else read from the file.
    Result<BatchHeader> read_header(std::uint64_t position, std::uint64_t limit,
                                    const InPlaceBytes* in_place = nullptr) const;
    // The same checks on header bytes already read: `bytes` starts at `position`.
    Result<BatchHeader> check_header(std::span<const std::byte> bytes, std::uint64_t position,
                                     std::uint64_t limit) const;
    // The position of the first batch whose last offset is >= target, or nullopt at the end;
    // headers are read as read_header() reads them, and the search starts in `in_place` when
    // the target is at or past its first offset.
    Result<std::optional<std::uint64_t>> locate(Offset target, std::uint64_t limit,
                                                const InPlaceBytes* in_place) const;
    Status corruption_at(std::uint64_t position, const Status& cause) const;
    // A read-only mapping of at least the first `limit` (published) bytes of the log (see
    // ReadMode): the one kept, or a new one, with map_active reaching kActiveMapAhead bytes
    // further. Null where the file system cannot map the log (or for a followed segment,
    // whose file another process writes). Only bytes below size() may be read through it.
    // REQUIRES: limit <= size().
    std::shared_ptr<const fs::ReadMapping> read_mapping(std::uint64_t limit, ReadMode mode) const;
    // The first `limit` bytes of the log in the mapping kept, if it holds them; else empty.
    InPlaceBytes kept_mapping(std::uint64_t limit) const;
    // The first `limit` bytes of the log in `mapping`, if it holds them; else empty.
    InPlaceBytes in_place_of(std::shared_ptr<const fs::ReadMapping> mapping,
                             std::uint64_t limit) const;

    fs::FileSystem& fs_;
    const std::string dir_;
    const Offset base_;
    std::unique_ptr<fs::File> log_;
    std::unique_ptr<OffsetIndex> offset_index_;
    std::unique_ptr<TimeIndex> time_index_;
    std::atomic<std::uint64_t> size_;
    // The newest indexed batch, as (base offset - base_) << 32 | position, or kNoBatch: a
    // finer floor than the sparse offset index for reads at the tail, where a consumer that
    // keeps up asks for the batch just appended. Stored before size_ publishes the batch.
    static constexpr std::uint64_t kNoBatch = ~std::uint64_t{0};
    std::atomic<std::uint64_t> last_batch_{kNoBatch};
    std::atomic<std::int64_t> max_timestamp_;
    bool sealed_ = false;
    bool follower_ = false;  // opened by follow(): the log file is read-only

    mutable std::mutex mapping_mu_;  // guards the fields below
    mutable std::shared_ptr<const fs::ReadMapping> mapping_;
    // The file system could not map the log, while it grew / once it was sealed.
    mutable bool active_mapping_refused_ = false;
    mutable bool sealed_mapping_refused_ = false;
    // Copies of the newest batches, for readers at the tail.
    TailBuffer tail_;

    // Appender-only bookkeeping.
    Offset next_offset_;
    Offset max_timestamp_offset_;
    std::uint64_t bytes_since_index_entry_ = 0;
    std::optional<std::int64_t> rolling_timestamp_;  // max timestamp of the first batch
};

}  // namespace brook::log

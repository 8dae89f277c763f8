#include "log/segment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "log/format.hpp"

namespace brook::log {
namespace {

constexpr std::int64_t kNoTimestamp = std::numeric_limits<std::int64_t>::min();

std::size_t index_capacity(std::int64_t index_bytes, std::size_t entry_size) {
    return (static_cast<std::size_t>(index_bytes) - format::kIndexHeaderSize) / entry_size;
}

}  // namespace

std::string Segment::file_name(Offset base, std::string_view suffix) {
    return fmt::format("{:0{}d}{}", base.value(), format::kSegmentNameDigits, suffix);
}

std::optional<Offset> Segment::parse_file_name(std::string_view name, std::string_view suffix) {
    const std::size_t digits = static_cast<std::size_t>(format::kSegmentNameDigits);
    if (name.size() != digits + suffix.size() || !name.ends_with(suffix)) return std::nullopt;
    std::int64_t value = 0;
    const char* first = name.data();
    const char* last = first + digits;
    if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
    const auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || end != last) return std::nullopt;
    return Offset(value);
}

Segment::Segment(fs::FileSystem& fs, std::string dir, Offset base, std::unique_ptr<fs::File> log,
                 std::unique_ptr<OffsetIndex> offset_index, std::unique_ptr<TimeIndex> time_index,
                 std::uint64_t size)
    : fs_(fs),
      dir_(std::move(dir)),
      base_(base),
      log_(std::move(log)),
      offset_index_(std::move(offset_index)),
      time_index_(std::move(time_index)),
      size_(size),
      max_timestamp_(kNoTimestamp),
      next_offset_(base),
      max_timestamp_offset_(base) {}

Result<std::shared_ptr<Segment>> Segment::create(fs::FileSystem& fs, const std::string& dir,
                                                 Offset base, const LogConfig& config) {
    const auto index_bytes = static_cast<std::size_t>(config.segment_index_bytes);
    const std::string log_path = fs::join_path(dir, file_name(base, format::kLogSuffix));
    const std::string offset_path = fs::join_path(dir, file_name(base, format::kOffsetIndexSuffix));
    const std::string time_path = fs::join_path(dir, file_name(base, format::kTimeIndexSuffix));
    BROOK_ASSIGN_OR_RETURN(auto log, fs.open(log_path, fs::OpenMode::create_exclusive));
    auto offset_index = OffsetIndex::create(fs, offset_path, base, index_bytes);
    auto time_index = offset_index.is_ok()
                          ? TimeIndex::create(fs, time_path, base, index_bytes)
                          : Result<std::unique_ptr<TimeIndex>>(offset_index.status());
    Status status = time_index.status();
    if (status.is_ok()) status = fs.sync_dir(dir);
    if (!status.is_ok()) {
        // Leave no half-made segment behind (say, on a full disk), so a later roll can retry.
        offset_index = Status::closed("discarded");
        time_index = Status::closed("discarded");
        for (const auto& path : {log_path, offset_path, time_path}) fs.remove_file(path).ignore();
        return status;
    }
    return std::shared_ptr<Segment>(new Segment(
        fs, dir, base, std::move(log), std::move(*offset_index), std::move(*time_index), 0));
}

Result<std::shared_ptr<Segment>> Segment::open(fs::FileSystem& fs, const std::string& dir,
                                               Offset base, const LogConfig& config, bool active) {
    BROOK_ASSIGN_OR_RETURN(auto segment, open_files(fs, dir, base, config, false));
    if (active) BROOK_RETURN_IF_ERROR(segment->load_appender_state());
    return segment;
}

Result<std::shared_ptr<Segment>> Segment::recover(fs::FileSystem& fs, const std::string& dir,
                                                  Offset base, const LogConfig& config, bool active,
                                                  bool allow_torn_tail) {
    BROOK_ASSIGN_OR_RETURN(auto segment, open_files(fs, dir, base, config, true));
    BROOK_RETURN_IF_ERROR(
        segment->scan(config, allow_torn_tail ? TailRule::truncate : TailRule::corrupt));
    if (!active) BROOK_RETURN_IF_ERROR(segment->seal());
    return segment;
}

Result<std::shared_ptr<Segment>> Segment::follow(fs::FileSystem& fs, fs::FileSystem& index_fs,
                                                 const std::string& dir, Offset base,
                                                 const LogConfig& config, bool last) {
    BROOK_ASSIGN_OR_RETURN(
        auto log,
        fs.open(fs::join_path(dir, file_name(base, format::kLogSuffix)), fs::OpenMode::read_only));
    BROOK_RETURN_IF_ERROR(index_fs.create_dirs(dir));
    const auto index_bytes = static_cast<std::size_t>(config.segment_index_bytes);
    BROOK_ASSIGN_OR_RETURN(
        auto offset_index,
        OffsetIndex::create(index_fs,
                            fs::join_path(dir, file_name(base, format::kOffsetIndexSuffix)), base,
                            index_bytes));
    BROOK_ASSIGN_OR_RETURN(
        auto time_index,
        TimeIndex::create(index_fs, fs::join_path(dir, file_name(base, format::kTimeIndexSuffix)),
                          base, index_bytes));
    auto segment = std::shared_ptr<Segment>(new Segment(
        fs, dir, base, std::move(log), std::move(offset_index), std::move(time_index), 0));
    segment->follower_ = true;
    BROOK_RETURN_IF_ERROR(segment->scan(config, last ? TailRule::stop : TailRule::corrupt));
    if (!last) BROOK_RETURN_IF_ERROR(segment->seal());
    return segment;
}

Status Segment::catch_up(const LogConfig& config) {
    return scan(config, TailRule::stop);
}

Result<std::shared_ptr<Segment>> Segment::open_files(fs::FileSystem& fs, const std::string& dir,
                                                     Offset base, const LogConfig& config,
                                                     bool rebuild_indexes) {
    BROOK_ASSIGN_OR_RETURN(
        auto log,
        fs.open(fs::join_path(dir, file_name(base, format::kLogSuffix)), fs::OpenMode::read_write));
    BROOK_ASSIGN_OR_RETURN(const std::uint64_t size, log->size());
    const std::string offset_path = fs::join_path(dir, file_name(base, format::kOffsetIndexSuffix));
    const std::string time_path = fs::join_path(dir, file_name(base, format::kTimeIndexSuffix));
    if (!rebuild_indexes) {
        auto offset_index = OffsetIndex::open_sealed(fs, offset_path, base);
        auto time_index = TimeIndex::open_sealed(fs, time_path, base);
        if (offset_index.is_ok() && time_index.is_ok()) {
            const std::uint32_t sealed_size = (*offset_index)->sealed_log_bytes();
            if (sealed_size != 0 && sealed_size != size) {
                return Status::corruption(fmt::format(
                    "segment {} is {} bytes but held {} when it was sealed: the file was cut "
                    "short or changed outside brook; restore the partition from a backup",
                    log->path(), size, sealed_size));
            }
            auto segment = std::shared_ptr<Segment>(new Segment(fs, dir, base, std::move(log),
                                                                std::move(*offset_index),
                                                                std::move(*time_index), size));
            segment->sealed_ = true;
            if (auto last = segment->time_index_->last_entry()) {
                segment->max_timestamp_.store(last->timestamp, std::memory_order_release);
                segment->max_timestamp_offset_ = last->offset;
            }
            return segment;
        }
    }
    // Rebuilding: fresh indexes, filled by scan() from a full pass over the log.
    const auto index_bytes = static_cast<std::size_t>(config.segment_index_bytes);
    BROOK_ASSIGN_OR_RETURN(auto offset_index,
                           OffsetIndex::create(fs, offset_path, base, index_bytes));
    BROOK_ASSIGN_OR_RETURN(auto time_index, TimeIndex::create(fs, time_path, base, index_bytes));
    auto segment = std::shared_ptr<Segment>(new Segment(
        fs, dir, base, std::move(log), std::move(offset_index), std::move(time_index), 0));
    if (!rebuild_indexes) {
        BROOK_RETURN_IF_ERROR(segment->scan(config, TailRule::corrupt));
        BROOK_RETURN_IF_ERROR(segment->seal());
    }
    return segment;
}

bool Segment::should_roll(std::size_t batch_bytes, Offset batch_last_offset, std::int64_t time_ms,
                          const LogConfig& config) const noexcept {
    const std::uint64_t size = this->size();
    if (size == 0) return false;
    if (size + batch_bytes > static_cast<std::uint64_t>(config.segment_bytes)) return true;
    if (rolling_timestamp_ && time_ms - *rolling_timestamp_ > config.segment_ms) return true;
    const auto offset_capacity =
        index_capacity(config.segment_index_bytes, format::kOffsetIndexEntrySize);
    const auto time_capacity =
        index_capacity(config.segment_index_bytes, format::kTimeIndexEntrySize);
    // One entry for this batch, and for the time index one more for the final entry at seal.
    if (offset_index_->entry_count() + 1 > offset_capacity) return true;
    if (time_index_->entry_count() + 2 > time_capacity) return true;
    return batch_last_offset - base_ > std::numeric_limits<std::uint32_t>::max();
}

void Segment::index_batch(std::uint64_t position, const BatchHeader& header,
                          const LogConfig& config) {
    if (header.max_timestamp > max_timestamp_.load(std::memory_order_relaxed)) {
        max_timestamp_.store(header.max_timestamp, std::memory_order_release);
        max_timestamp_offset_ = header.base_offset;
    }
    if (!rolling_timestamp_) rolling_timestamp_ = header.max_timestamp;
    // should_roll() keeps room in both indexes for appends; the checks here only matter when
    // rebuilding a segment written under a larger segment.index.bytes.
    if (position > 0 &&
        bytes_since_index_entry_ >= static_cast<std::uint64_t>(config.index_interval_bytes) &&
        !offset_index_->full()) {
        offset_index_->append(header.base_offset, static_cast<std::uint32_t>(position));
        const auto last_time = time_index_->last_entry();
        const std::int64_t max_ts = max_timestamp_.load(std::memory_order_relaxed);
        if ((!last_time || max_ts > last_time->timestamp) && !time_index_->full()) {
            time_index_->append(max_ts, max_timestamp_offset_);
        }
        bytes_since_index_entry_ = 0;
    }
    bytes_since_index_entry_ += header.total_size();
    next_offset_ = header.last_offset() + 1;
    const std::int64_t relative = header.base_offset - base_;
    if (relative >= 0 && relative < std::numeric_limits<std::uint32_t>::max() &&
        position < std::numeric_limits<std::uint32_t>::max()) {
        last_batch_.store(static_cast<std::uint64_t>(relative) << 32 | position,
                          std::memory_order_release);
    }
}

Status Segment::append(std::span<const std::byte> batch, const BatchHeader& header,
                       const LogConfig& config) {
    // The segment is its file's only writer and size() is the file's end (open and recovery
    // cut a torn tail off), so a positioned write appends without asking the file for its end.
    const std::uint64_t position = size();
    const Status written = log_->write_at(position, batch);
    if (!written.is_ok()) {
        // Cut off whatever part of the batch reached the file, so the log stays whole.
        const Status cut = log_->truncate(position);
        if (!cut.is_ok()) {
            return Status::error(written.code(),
                                 fmt::format("{}; cutting the partial batch off failed too ({}), "
                                             "so the log is stopped until it is reopened",
                                             written.message(), cut.to_string()),
                                 SubCode::fail_stopped);
        }
        return written;
    }
    index_batch(position, header, config);
    tail_.append(position, header.base_offset, batch);
    size_.store(position + batch.size(), std::memory_order_release);
    return Status::ok();
}

Status Segment::seal(IndexSync indexes) {
    if (sealed_) return Status::ok();
    const std::int64_t max_ts = max_timestamp_.load(std::memory_order_relaxed);
    const auto last_time = time_index_->last_entry();
    if (max_ts != kNoTimestamp && (!last_time || max_ts > last_time->timestamp) &&
        !time_index_->full()) {
        time_index_->append(max_ts, max_timestamp_offset_);
    }
    if (!follower_) BROOK_RETURN_IF_ERROR(log_->sync());
    // Recorded so that a sealed .log cut short later is caught on open (0: too large to say).
    const std::uint64_t log_bytes = size();
    BROOK_RETURN_IF_ERROR(offset_index_->seal(log_bytes <= std::numeric_limits<std::uint32_t>::max()
                                                  ? static_cast<std::uint32_t>(log_bytes)
                                                  : 0,
                                              indexes));
    BROOK_RETURN_IF_ERROR(time_index_->seal(indexes));
    tail_.release();
    sealed_ = true;
    return Status::ok();
}

Status Segment::unseal(const LogConfig& config) {
    const auto index_bytes = static_cast<std::size_t>(config.segment_index_bytes);
    BROOK_RETURN_IF_ERROR(offset_index_->unseal(index_bytes));
    BROOK_RETURN_IF_ERROR(time_index_->unseal(index_bytes));
    sealed_ = false;
    return Status::ok();
}

Status Segment::sync() {
    return log_->sync();
}

std::optional<std::int64_t> Segment::max_timestamp() const noexcept {
    const std::int64_t ts = max_timestamp_.load(std::memory_order_acquire);
    if (ts == kNoTimestamp) return std::nullopt;
    return ts;
}

Status Segment::load_appender_state() {
    const std::uint64_t limit = size();
    if (limit == 0) return Status::ok();
    // Headers are parsed out of chunks read whole, not read one system call each.
    constexpr std::uint64_t kChunkBytes = 64 * 1024;
    std::vector<std::byte> chunk;
    std::uint64_t chunk_at = 0;
    const auto header_at = [&](std::uint64_t at) -> Result<BatchHeader> {
        if (chunk.empty() || at < chunk_at ||
            at + format::kBatchHeaderSize > chunk_at + chunk.size()) {
            if (limit - at < format::kBatchHeaderSize) return read_header(at, limit);
            chunk.resize(static_cast<std::size_t>(std::min(limit - at, kChunkBytes)));
            BROOK_ASSIGN_OR_RETURN(const std::size_t got, log_->read_at(at, chunk));
            if (got != chunk.size()) return read_header(at, limit);
            chunk_at = at;
        }
        return check_header(std::span(chunk).subspan(at - chunk_at), at, limit);
    };
    BROOK_ASSIGN_OR_RETURN(const BatchHeader first, header_at(0));
    rolling_timestamp_ = first.max_timestamp;
    // Walk from the last index entry to the end to find the next offset: a short scan of at
    // most index.interval.bytes plus one batch, never the whole segment.
    std::uint64_t position = 0;
    if (auto last = offset_index_->last_entry()) position = last->position;
    next_offset_ = base_;
    while (position < limit) {
        BROOK_ASSIGN_OR_RETURN(const BatchHeader header, header_at(position));
        next_offset_ = header.last_offset() + 1;
        bytes_since_index_entry_ += header.total_size();
        position += header.total_size();
    }
    return Status::ok();
}

}  // namespace brook::log

#include "log/index_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <optional>

#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace brook::log {

namespace {

// Header field positions (log/format.hpp).
constexpr std::size_t kMagicPos = 0;
constexpr std::size_t kVersionPos = 4;
constexpr std::size_t kFlagsPos = 6;
constexpr std::size_t kBaseOffsetPos = 8;
constexpr std::size_t kCountPos = 16;
constexpr std::size_t kLogBytesPos = 20;
constexpr std::size_t kChecksumPos = 24;

constexpr std::size_t kHeaderSize = format::kIndexHeaderSize;
// open_sealed reads and checks a file in chunks of about this size.
constexpr std::size_t kReadChunkBytes = 64 * 1024;

// The count field is a u32, so no index holds more entries than that.
std::size_t capacity_of(std::size_t file_size, std::size_t entry_size) noexcept {
    if (file_size < kHeaderSize) return 0;
    return std::min<std::size_t>((file_size - kHeaderSize) / entry_size,
                                 std::numeric_limits<std::uint32_t>::max());
}

// The checksum a header records for entries whose XXH3-64 is `entries_hash`: that hash, or,
// when the header records the log's size, that hash combined with the hash of the count and
// that size, so damage to either is caught too (docs/format.md, section 3.1).
std::uint64_t header_checksum(const std::byte* header, std::uint64_t entries_hash) noexcept {
    if (util::load_le<std::uint32_t>(header + kLogBytesPos) == 0) return entries_hash;
    return entries_hash ^ util::xxh3_64(std::span<const std::byte>(header + kCountPos, 8));
}

}  // namespace

IndexFile::IndexFile(std::unique_ptr<fs::File> file, std::unique_ptr<fs::MappedRegion> region,
                     fs::FileSystem& fs, const IndexKind& kind, Offset base_offset,
                     std::size_t count, bool sealed)
    : fs_(fs),
      kind_(kind),
      base_offset_(base_offset),
      file_(std::move(file)),
      region_(std::move(region)),
      mapped_(region_ != nullptr),
      count_(count),
      capacity_(region_ ? capacity_of(region_->size(), kind.entry_size) : count),
      sealed_(sealed) {}

Result<std::unique_ptr<IndexFile>> IndexFile::create(fs::FileSystem& fs, const std::string& path,
                                                     const IndexKind& kind, Offset base_offset,
                                                     std::size_t max_bytes) {
    if (max_bytes < kHeaderSize + kind.entry_size) {
        return Status::invalid_argument(
            fmt::format("{} {}: {} bytes cannot hold the {}-byte header and one {}-byte entry",
                        kind.name, path, max_bytes, kHeaderSize, kind.entry_size));
    }
    const std::size_t size =
        kHeaderSize + capacity_of(max_bytes, kind.entry_size) * kind.entry_size;
    BROOK_ASSIGN_OR_RETURN(auto file, fs.open(path, fs::OpenMode::create_or_open));
    BROOK_RETURN_IF_ERROR(file->truncate(0));
    BROOK_RETURN_IF_ERROR(file->truncate(size));
    BROOK_ASSIGN_OR_RETURN(auto region, fs.map(*file, size));

    std::byte* h = region->data();
    std::memset(h, 0, kHeaderSize);
    util::store_le<std::uint32_t>(h + kMagicPos, kind.magic);
    util::store_le<std::uint16_t>(h + kVersionPos, format::kIndexVersion);
    util::store_le<std::int64_t>(h + kBaseOffsetPos, base_offset.value());
    return std::unique_ptr<IndexFile>(
        new IndexFile(std::move(file), std::move(region), fs, kind, base_offset, 0, false));
}

Result<std::unique_ptr<IndexFile>> IndexFile::open_sealed(fs::FileSystem& fs,
                                                          const std::string& path,
                                                          const IndexKind& kind,
                                                          Offset base_offset) {
    assert(kind.entry_size <= kMaxIndexEntrySize);
    auto corrupt = [&](const std::string& what) {
        return Status::corruption(
            fmt::format("{} {}: {}; it must be rebuilt from the log", kind.name, path, what));
    };
    BROOK_ASSIGN_OR_RETURN(auto file, fs.open(path, fs::OpenMode::read_write));
    BROOK_ASSIGN_OR_RETURN(const std::uint64_t size, file->size());
    if (size < kHeaderSize) {
        return corrupt(fmt::format("the file is {} bytes, shorter than the {}-byte header", size,
                                   kHeaderSize));
    }
    auto shrank = [&](std::uint64_t end) {
        return corrupt(
            fmt::format("the file ended at {} bytes while it was read, not at {}", end, size));
    };
    // The first chunk holds the header and whole entries, later chunks whole entries, so no
    // entry straddles two chunks.
    const std::size_t chunk_entry_bytes = kReadChunkBytes / kind.entry_size * kind.entry_size;
    std::vector<std::byte> chunk(
        static_cast<std::size_t>(std::min<std::uint64_t>(size, kHeaderSize + chunk_entry_bytes)));
    BROOK_ASSIGN_OR_RETURN(const std::size_t got, file->read_at(0, chunk));
    if (got != chunk.size()) return shrank(got);
    // A copy, since later chunks are read into the same buffer.
    std::array<std::byte, kHeaderSize> header;
    std::memcpy(header.data(), chunk.data(), kHeaderSize);
    const std::byte* h = header.data();

    const auto magic = util::load_le<std::uint32_t>(h + kMagicPos);
    if (magic != kind.magic) {
        return corrupt(fmt::format("bad magic {:#010x}, expected {:#010x}", magic, kind.magic));
    }
    const auto version = util::load_le<std::uint16_t>(h + kVersionPos);
    if (version != format::kIndexVersion) {
        return corrupt(
            fmt::format("unknown version {}, expected {}", version, format::kIndexVersion));
    }
    const auto flags = util::load_le<std::uint16_t>(h + kFlagsPos);
    if ((flags & format::kIndexSealedFlag) == 0) {
        return corrupt("the index is not sealed (it was not closed cleanly)");
    }
    if ((flags & ~format::kIndexSealedFlag) != 0) {
        return corrupt(fmt::format("unknown flag bits {:#06x}", flags));
    }
    const auto base = util::load_le<std::int64_t>(h + kBaseOffsetPos);
    if (base != base_offset.value()) {
        return corrupt(
            fmt::format("base offset {} in the header, expected {}", base, base_offset.value()));
    }
    const auto count = util::load_le<std::uint32_t>(h + kCountPos);
    const std::uint64_t entry_bytes = std::uint64_t{count} * kind.entry_size;
    if (entry_bytes != size - kHeaderSize) {
        return corrupt(fmt::format(
            "the header counts {} entries ({} bytes) but the file holds {} bytes of entries", count,
            entry_bytes, size - kHeaderSize));
    }
    const auto log_bytes = util::load_le<std::uint32_t>(h + kLogBytesPos);
    const auto stored = util::load_le<std::uint64_t>(h + kChecksumPos);
    // Hash the entries chunk by chunk, noting the first one out of order.
    util::Xxh3Stream hash;
    std::array<std::byte, kMaxIndexEntrySize> last{};
    std::optional<std::uint64_t> first_unordered;
    std::uint64_t done = 0;
    std::span<const std::byte> entries = std::span<const std::byte>(chunk).subspan(kHeaderSize);
    while (true) {
        hash.update(entries);
        for (std::size_t at = 0; at < entries.size(); at += kind.entry_size) {
            const std::byte* entry = entries.data() + at;
            const std::uint64_t i = (done + at) / kind.entry_size;
            if (i > 0 && !first_unordered && !kind.ordered(last.data(), entry)) first_unordered = i;
            std::memcpy(last.data(), entry, kind.entry_size);
        }
        done += entries.size();
        if (done == entry_bytes) break;
        const auto next = static_cast<std::size_t>(
            std::min<std::uint64_t>(entry_bytes - done, chunk_entry_bytes));
        BROOK_ASSIGN_OR_RETURN(const std::size_t read,
                               file->read_at(kHeaderSize + done, std::span(chunk).first(next)));
        if (read != next) return shrank(kHeaderSize + done + read);
        entries = std::span<const std::byte>(chunk).first(next);
    }
    const std::uint64_t actual = header_checksum(h, hash.digest());
    if (stored != actual) {
        return corrupt(fmt::format("entry checksum {:#018x} does not match {:#018x} in the header",
                                   actual, stored));
    }
    if (first_unordered) {
        return corrupt(fmt::format("entry {} does not increase on entry {}", *first_unordered,
                                   *first_unordered - 1));
    }
    auto index = std::unique_ptr<IndexFile>(
        new IndexFile(std::move(file), nullptr, fs, kind, base_offset, count, true));
    index->sealed_log_bytes_.store(log_bytes, std::memory_order_relaxed);
    index->opened_last_entry_ = last;
    return index;
}

void IndexFile::append(std::span<const std::byte> entry) noexcept {
    const std::size_t n = count_.load(std::memory_order_relaxed);
    assert(!sealed() && n < capacity_ && entry.size() == kind_.entry_size);
    std::memcpy(region_->data() + file_size_for(n), entry.data(), entry.size());
    count_.store(n + 1, std::memory_order_release);
}

void IndexFile::truncate_to(std::size_t count) noexcept {
    assert(count <= entry_count());
    std::unique_lock lock(mapping_mutex_);
    count_.store(count, std::memory_order_release);
}

Status IndexFile::seal(std::uint32_t log_bytes, IndexSync sync) {
    assert(!sealed());
    if (!region_) return lost_mapping();
    const std::size_t n = count_.load(std::memory_order_relaxed);
    std::byte* h = region_->data();
    util::store_le<std::uint32_t>(h + kCountPos, static_cast<std::uint32_t>(n));
    util::store_le<std::uint32_t>(h + kLogBytesPos, log_bytes);
    const std::uint64_t entries_hash =
        util::xxh3_64(std::span<const std::byte>(h + kHeaderSize, n * kind_.entry_size));
    util::store_le<std::uint64_t>(h + kChecksumPos, header_checksum(h, entries_hash));
    util::store_le<std::uint16_t>(h + kFlagsPos, format::kIndexSealedFlag);

    if (Status s = resize_mapping(file_size_for(n)); !s) {
        if (region_) util::store_le<std::uint16_t>(region_->data() + kFlagsPos, 0);
        return s;
    }
    sealed_.store(true, std::memory_order_release);
    sealed_log_bytes_.store(log_bytes, std::memory_order_relaxed);
    if (sync == IndexSync::writeback) return Status::ok();
    BROOK_RETURN_IF_ERROR(region_->sync());
    return file_->sync();
}

Status IndexFile::unseal(std::size_t max_bytes) {
    assert(sealed());
    {
        std::unique_lock lock(mapping_mutex_);
        BROOK_RETURN_IF_ERROR(map_locked());
    }
    if (!region_) return lost_mapping();
    const std::size_t n = count_.load(std::memory_order_relaxed);
    if (max_bytes < file_size_for(n)) {
        return Status::invalid_argument(fmt::format("{} {}: {} bytes cannot hold its {} entries",
                                                    kind_.name, path(), max_bytes, n));
    }
    // The cleared flag reaches the disk before the file grows, so a crash in between never
    // leaves a sealed header in front of entries that were appended later.
    std::byte* h = region_->data();
    util::store_le<std::uint16_t>(h + kFlagsPos, 0);
    util::store_le<std::uint32_t>(h + kCountPos, 0);
    util::store_le<std::uint32_t>(h + kLogBytesPos, 0);
    util::store_le<std::uint64_t>(h + kChecksumPos, 0);
    sealed_.store(false, std::memory_order_release);
    sealed_log_bytes_.store(0, std::memory_order_relaxed);
    BROOK_RETURN_IF_ERROR(region_->sync());
    return resize_mapping(kHeaderSize +
                          capacity_of(max_bytes, kind_.entry_size) * kind_.entry_size);
}

std::uint32_t IndexFile::sealed_log_bytes() const {
    return sealed_log_bytes_.load(std::memory_order_relaxed);
}

bool IndexFile::last_entry(std::span<std::byte> out) const {
    assert(out.size() >= kind_.entry_size);
    std::shared_lock lock(mapping_mutex_);
    const std::size_t n = count_.load(std::memory_order_acquire);
    if (n == 0) return false;
    if (!mapped_) {
        std::memcpy(out.data(), opened_last_entry_.data(), kind_.entry_size);
        return true;
    }
    if (!region_) return false;
    std::memcpy(out.data(), region_->data() + file_size_for(n - 1), kind_.entry_size);
    return true;
}

Status IndexFile::sync() {
    std::shared_lock lock(mapping_mutex_);
    if (!mapped_) return Status::ok();
    if (!region_) return lost_mapping();
    return region_->sync();
}

void IndexFile::map_for_readers() const {
    std::unique_lock lock(mapping_mutex_);
    map_locked().ignore();
}

Status IndexFile::map_locked() const {
    if (mapped_) return Status::ok();
    auto mapped = fs_.map(*file_, file_size_for(count_.load(std::memory_order_relaxed)));
    if (!mapped.is_ok()) return mapped.status();
    region_ = std::move(mapped).value();
    mapped_ = true;
    return Status::ok();
}

Status IndexFile::resize_mapping(std::size_t size) {
    std::unique_lock lock(mapping_mutex_);
    mapped_ = true;
    region_.reset();
    Status status = file_->truncate(size);
    if (status) {
        auto mapped = fs_.map(*file_, size);
        if (mapped) {
            region_ = std::move(mapped).value();
            capacity_ = capacity_of(size, kind_.entry_size);
            return Status::ok();
        }
        status = mapped.status();
    }
    // Map whatever size the file has now, so readers keep the published entries.
    auto current = file_->size();
    if (current && *current >= file_size_for(count_.load(std::memory_order_relaxed))) {
        auto mapped = fs_.map(*file_, *current);
        if (mapped) {
            region_ = std::move(mapped).value();
            capacity_ = capacity_of(*current, kind_.entry_size);
            return status;
        }
    }
    count_.store(0, std::memory_order_release);
    capacity_ = 0;
    return status;
}

Status IndexFile::lost_mapping() const {
    return Status::io_error(fmt::format(
        "{} {}: the file is no longer mapped after an earlier failure", kind_.name, path()));
}

}  // namespace brook::log

#include "log/index_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>

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

// The count field is a u32, so no index holds more entries than that.
std::size_t capacity_of(std::size_t file_size, std::size_t entry_size) noexcept {
    if (file_size < kHeaderSize) return 0;
    return std::min<std::size_t>((file_size - kHeaderSize) / entry_size,
                                 std::numeric_limits<std::uint32_t>::max());
}

// XXH3-64 of the entries; when the header records the log's size, combined with the hash of
// the count and that size, so damage to either is caught too (docs/format.md, section 3.1).
std::uint64_t entries_checksum(const std::byte* header, std::size_t bytes) noexcept {
    const std::uint64_t entries = util::xxh3_64(std::span<const std::byte>(header + kHeaderSize, bytes));
    if (util::load_le<std::uint32_t>(header + kLogBytesPos) == 0) return entries;
    return entries ^ util::xxh3_64(std::span<const std::byte>(header + kCountPos, 8));
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
      count_(count),
      capacity_(capacity_of(region_->size(), kind.entry_size)),
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
    BROOK_ASSIGN_OR_RETURN(auto region, fs.map(*file, size));
    const std::byte* h = region->data();

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
    const auto stored = util::load_le<std::uint64_t>(h + kChecksumPos);
    const std::uint64_t actual = entries_checksum(h, entry_bytes);
    if (stored != actual) {
        return corrupt(fmt::format("entry checksum {:#018x} does not match {:#018x} in the header",
                                   actual, stored));
    }
    return std::unique_ptr<IndexFile>(
        new IndexFile(std::move(file), std::move(region), fs, kind, base_offset, count, true));
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

Status IndexFile::seal(std::uint32_t log_bytes) {
    assert(!sealed());
    if (!region_) return lost_mapping();
    const std::size_t n = count_.load(std::memory_order_relaxed);
    std::byte* h = region_->data();
    util::store_le<std::uint32_t>(h + kCountPos, static_cast<std::uint32_t>(n));
    util::store_le<std::uint32_t>(h + kLogBytesPos, log_bytes);
    util::store_le<std::uint64_t>(h + kChecksumPos, entries_checksum(h, n * kind_.entry_size));
    util::store_le<std::uint16_t>(h + kFlagsPos, format::kIndexSealedFlag);

    if (Status s = resize_mapping(file_size_for(n)); !s) {
        if (region_) util::store_le<std::uint16_t>(region_->data() + kFlagsPos, 0);
        return s;
    }
    sealed_.store(true, std::memory_order_release);
    BROOK_RETURN_IF_ERROR(region_->sync());
    return file_->sync();
}

Status IndexFile::unseal(std::size_t max_bytes) {
    assert(sealed());
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
    BROOK_RETURN_IF_ERROR(region_->sync());
    return resize_mapping(kHeaderSize +
                          capacity_of(max_bytes, kind_.entry_size) * kind_.entry_size);
}

std::uint32_t IndexFile::sealed_log_bytes() const {
    std::shared_lock lock(mapping_mutex_);
    if (!region_ || !sealed()) return 0;
    return util::load_le<std::uint32_t>(region_->data() + kLogBytesPos);
}

void IndexFile::release_pages() noexcept {
    std::shared_lock lock(mapping_mutex_);
    if (region_) region_->release_pages();
}

Status IndexFile::sync() {
    if (!region_) return lost_mapping();
    return region_->sync();
}

Status IndexFile::resize_mapping(std::size_t size) {
    std::unique_lock lock(mapping_mutex_);
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

#include "log/offset_index.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <limits>

#include "log/format.hpp"
#include "util/endian.hpp"

namespace brook::log {

namespace {

constexpr std::size_t kRelativeOffsetPos = 0;
constexpr std::size_t kPositionPos = 4;

std::uint32_t relative_offset_of(const std::byte* e) noexcept {
    return util::load_le<std::uint32_t>(e + kRelativeOffsetPos);
}
std::uint32_t position_of(const std::byte* e) noexcept {
    return util::load_le<std::uint32_t>(e + kPositionPos);
}

bool ordered(const std::byte* previous, const std::byte* next) noexcept {
    return relative_offset_of(next) > relative_offset_of(previous) &&
           position_of(next) > position_of(previous);
}

constexpr IndexKind kKind{format::kOffsetIndexMagic, format::kOffsetIndexEntrySize, "offset index",
                          ordered};

// `offset` relative to `base`, clamped to [-1, 2^32]: every comparison with a u32 relative
// offset keeps its outcome.
std::int64_t clamped_relative(Offset offset, Offset base) noexcept {
    const std::int64_t rel = offset - base;
    constexpr std::int64_t kAbove = std::int64_t{std::numeric_limits<std::uint32_t>::max()} + 1;
    return std::clamp<std::int64_t>(rel, -1, kAbove);
}

}  // namespace

Result<std::unique_ptr<OffsetIndex>> OffsetIndex::create(fs::FileSystem& fs,
                                                         const std::string& path,
                                                         Offset base_offset,
                                                         std::size_t max_bytes) {
    BROOK_ASSIGN_OR_RETURN(auto file, IndexFile::create(fs, path, kKind, base_offset, max_bytes));
    return std::unique_ptr<OffsetIndex>(new OffsetIndex(std::move(file)));
}

Result<std::unique_ptr<OffsetIndex>> OffsetIndex::open_sealed(fs::FileSystem& fs,
                                                              const std::string& path,
                                                              Offset base_offset) {
    BROOK_ASSIGN_OR_RETURN(auto file, IndexFile::open_sealed(fs, path, kKind, base_offset));
    return std::unique_ptr<OffsetIndex>(new OffsetIndex(std::move(file)));
}

void OffsetIndex::append(Offset offset, std::uint32_t position) noexcept {
    assert(offset - base_offset() >= 0 &&
           offset - base_offset() <= std::numeric_limits<std::uint32_t>::max());
    assert(!last_entry() || (offset > last_entry()->offset && position > last_entry()->position));
    std::array<std::byte, format::kOffsetIndexEntrySize> e;
    util::store_le<std::uint32_t>(e.data() + kRelativeOffsetPos,
                                  static_cast<std::uint32_t>(offset - base_offset()));
    util::store_le<std::uint32_t>(e.data() + kPositionPos, position);
    file_->append(e);
}

OffsetIndex::Entry OffsetIndex::lookup(Offset target) const noexcept {
    const std::int64_t rel = clamped_relative(target, base_offset());
    return file_->read([&](const IndexFile::View& v) {
        const std::size_t i =
            v.partition_point([&](const std::byte* e) { return relative_offset_of(e) <= rel; });
        if (i == 0) return Entry{base_offset(), 0};
        return Entry{base_offset() + relative_offset_of(v[i - 1]), position_of(v[i - 1])};
    });
}

std::optional<std::uint32_t> OffsetIndex::last_position_at_or_below(
    std::uint64_t position) const noexcept {
    return file_->read([&](const IndexFile::View& v) -> std::optional<std::uint32_t> {
        const std::size_t i =
            v.partition_point([&](const std::byte* e) { return position_of(e) <= position; });
        if (i == 0) return std::nullopt;
        return position_of(v[i - 1]);
    });
}

void OffsetIndex::truncate_from(Offset offset) noexcept {
    const std::int64_t rel = clamped_relative(offset, base_offset());
    const std::size_t keep = file_->read([&](const IndexFile::View& v) {
        return v.partition_point([&](const std::byte* e) { return relative_offset_of(e) < rel; });
    });
    file_->truncate_to(keep);
}

bool OffsetIndex::full() const noexcept {
    return file_->full();
}

std::size_t OffsetIndex::entry_count() const noexcept {
    return file_->entry_count();
}

std::optional<OffsetIndex::Entry> OffsetIndex::last_entry() const noexcept {
    std::array<std::byte, format::kOffsetIndexEntrySize> e;
    if (!file_->last_entry(e)) return std::nullopt;
    return Entry{base_offset() + relative_offset_of(e.data()), position_of(e.data())};
}

OffsetIndex::Entry OffsetIndex::entry(std::size_t i) const noexcept {
    return file_->read([&](const IndexFile::View& v) {
        assert(i < v.size());
        return Entry{base_offset() + relative_offset_of(v[i]), position_of(v[i])};
    });
}

Status OffsetIndex::seal(std::uint32_t log_bytes, IndexSync sync) {
    return file_->seal(log_bytes, sync);
}

std::uint32_t OffsetIndex::sealed_log_bytes() const {
    return file_->sealed_log_bytes();
}

Status OffsetIndex::unseal(std::size_t max_bytes) {
    return file_->unseal(max_bytes);
}

Status OffsetIndex::sync() {
    return file_->sync();
}

bool OffsetIndex::sealed() const noexcept {
    return file_->sealed();
}

Offset OffsetIndex::base_offset() const noexcept {
    return file_->base_offset();
}

}  // namespace brook::log

#include "log/time_index.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <limits>

#include "log/format.hpp"
#include "util/endian.hpp"

namespace brook::log {

namespace {

constexpr std::size_t kTimestampPos = 0;
constexpr std::size_t kRelativeOffsetPos = 8;

std::int64_t timestamp_of(const std::byte* e) noexcept {
    return util::load_le<std::int64_t>(e + kTimestampPos);
}
std::uint32_t relative_offset_of(const std::byte* e) noexcept {
    return util::load_le<std::uint32_t>(e + kRelativeOffsetPos);
}

bool ordered(const std::byte* previous, const std::byte* next) noexcept {
    return timestamp_of(next) > timestamp_of(previous) &&
           relative_offset_of(next) > relative_offset_of(previous);
}

constexpr IndexKind kKind{format::kTimeIndexMagic, format::kTimeIndexEntrySize, "time index",
                          ordered};

}  // namespace

Result<std::unique_ptr<TimeIndex>> TimeIndex::create(fs::FileSystem& fs, const std::string& path,
                                                     Offset base_offset, std::size_t max_bytes) {
    BROOK_ASSIGN_OR_RETURN(auto file, IndexFile::create(fs, path, kKind, base_offset, max_bytes));
    return std::unique_ptr<TimeIndex>(new TimeIndex(std::move(file)));
}

Result<std::unique_ptr<TimeIndex>> TimeIndex::open_sealed(fs::FileSystem& fs,
                                                          const std::string& path,
                                                          Offset base_offset) {
    BROOK_ASSIGN_OR_RETURN(auto file, IndexFile::open_sealed(fs, path, kKind, base_offset));
    return std::unique_ptr<TimeIndex>(new TimeIndex(std::move(file)));
}

void TimeIndex::append(std::int64_t timestamp, Offset offset) noexcept {
    assert(offset - base_offset() >= 0 &&
           offset - base_offset() <= std::numeric_limits<std::uint32_t>::max());
    assert(!last_entry() || (timestamp > last_entry()->timestamp && offset > last_entry()->offset));
    std::array<std::byte, format::kTimeIndexEntrySize> e;
    util::store_le<std::int64_t>(e.data() + kTimestampPos, timestamp);
    util::store_le<std::uint32_t>(e.data() + kRelativeOffsetPos,
                                  static_cast<std::uint32_t>(offset - base_offset()));
    file_->append(e);
}

std::optional<TimeIndex::Entry> TimeIndex::last_before(std::int64_t target) const noexcept {
    return file_->read([&](const IndexFile::View& v) -> std::optional<Entry> {
        const std::size_t i =
            v.partition_point([&](const std::byte* e) { return timestamp_of(e) < target; });
        if (i == 0) return std::nullopt;
        return Entry{timestamp_of(v[i - 1]), base_offset() + relative_offset_of(v[i - 1])};
    });
}

void TimeIndex::truncate_from(Offset offset) noexcept {
    // Clamped to [-1, 2^32] so the comparison with a u32 relative offset keeps its outcome.
    const std::int64_t rel = std::clamp<std::int64_t>(
        offset - base_offset(), -1, std::int64_t{std::numeric_limits<std::uint32_t>::max()} + 1);
    const std::size_t keep = file_->read([&](const IndexFile::View& v) {
        return v.partition_point([&](const std::byte* e) { return relative_offset_of(e) < rel; });
    });
    file_->truncate_to(keep);
}

bool TimeIndex::full() const noexcept {
    return file_->full();
}

std::size_t TimeIndex::entry_count() const noexcept {
    return file_->entry_count();
}

std::optional<TimeIndex::Entry> TimeIndex::last_entry() const noexcept {
    std::array<std::byte, format::kTimeIndexEntrySize> e;
    if (!file_->last_entry(e)) return std::nullopt;
    return Entry{timestamp_of(e.data()), base_offset() + relative_offset_of(e.data())};
}

TimeIndex::Entry TimeIndex::entry(std::size_t i) const noexcept {
    return file_->read([&](const IndexFile::View& v) {
        assert(i < v.size());
        return Entry{timestamp_of(v[i]), base_offset() + relative_offset_of(v[i])};
    });
}

Status TimeIndex::seal(IndexSync sync) {
    return file_->seal(0, sync);
}

Status TimeIndex::unseal(std::size_t max_bytes) {
    return file_->unseal(max_bytes);
}

Status TimeIndex::sync() {
    return file_->sync();
}

bool TimeIndex::sealed() const noexcept {
    return file_->sealed();
}

Offset TimeIndex::base_offset() const noexcept {
    return file_->base_offset();
}

}  // namespace brook::log

#include "cleaner/cleaner_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "cleaner/cleaner_state_format.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace brook::cleaner {

std::optional<std::int64_t> CleanerState::first_seen_ms(Offset offset) const noexcept {
    const auto it = std::upper_bound(seen_.begin(), seen_.end(), offset,
                                     [](Offset o, const Seen& s) { return o < s.end; });
    if (it == seen_.end()) return std::nullopt;
    return it->at_ms;
}

void CleanerState::record_pass(Offset end, std::int64_t now_ms, std::int64_t forget_after_ms) {
    if (end <= first_dirty_) return;
    first_dirty_ = end;
    seen_.push_back({end, now_ms});
    // Ranges whose tombstones have all expired need no separate time: keep the newest of them.
    std::size_t expired = 0;
    while (expired + 1 < seen_.size() && seen_[expired + 1].at_ms <= now_ms - forget_after_ms) {
        ++expired;
    }
    seen_.erase(seen_.begin(), seen_.begin() + static_cast<std::ptrdiff_t>(expired));
    while (seen_.size() > kMaxRanges) seen_.erase(seen_.begin());
}

void CleanerState::clamp_to(Offset log_start) noexcept {
    first_dirty_ = std::max(first_dirty_, log_start);
}

void CleanerState::limit_to(Offset log_end) noexcept {
    first_dirty_ = std::min(first_dirty_, log_end);
    for (Seen& seen : seen_) seen.end = std::min(seen.end, log_end);
}

std::string CleanerState::encode() const {
    static_assert(kMaxRanges == format::kMaxSeenRanges);
    const std::size_t size =
        format::kHeaderSize + seen_.size() * format::kSeenRangeSize + format::kChecksumSize;
    std::string out(size, '\0');
    auto* p = reinterpret_cast<std::byte*>(out.data());
    p[0] = std::byte{format::kProgressV1};
    util::store_le<std::int64_t>(p + 1, first_dirty_.value());
    util::store_le<std::int64_t>(p + 9, tombstones_due_ms_.value_or(format::kNoTombstonesDue));
    util::store_le<std::uint32_t>(p + 17, static_cast<std::uint32_t>(seen_.size()));
    std::byte* range = p + format::kHeaderSize;
    for (const Seen& seen : seen_) {
        util::store_le<std::int64_t>(range, seen.end.value());
        util::store_le<std::int64_t>(range + 8, seen.at_ms);
        range += format::kSeenRangeSize;
    }
    util::store_le<std::uint64_t>(range, util::xxh3_64({p, size - format::kChecksumSize}));
    return out;
}

Result<CleanerState> CleanerState::decode(std::string_view bytes) {
    const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
    if (bytes.size() < format::kHeaderSize + format::kChecksumSize) {
        return Status::corruption(
            fmt::format("cleaner progress record of {} bytes is too short", bytes.size()));
    }
    const std::uint32_t count = util::load_le<std::uint32_t>(p + 17);
    if (count > format::kMaxSeenRanges || bytes.size() != format::kHeaderSize +
                                                              count * format::kSeenRangeSize +
                                                              format::kChecksumSize) {
        return Status::corruption(
            fmt::format("cleaner progress record of {} bytes does not hold the {} ranges it claims",
                        bytes.size(), count));
    }
    const std::size_t body = bytes.size() - format::kChecksumSize;
    if (util::xxh3_64({p, body}) != util::load_le<std::uint64_t>(p + body)) {
        return Status::corruption("cleaner progress record fails its checksum");
    }
    if (p[0] != std::byte{format::kProgressV1}) {
        return Status::not_supported(
            fmt::format("cleaner progress record version {} is newer than this brook understands",
                        static_cast<int>(p[0])));
    }
    CleanerState state;
    state.first_dirty_ = Offset(util::load_le<std::int64_t>(p + 1));
    const std::int64_t due = util::load_le<std::int64_t>(p + 9);
    if (due != format::kNoTombstonesDue) state.tombstones_due_ms_ = due;
    const std::byte* range = p + format::kHeaderSize;
    for (std::uint32_t i = 0; i < count; ++i, range += format::kSeenRangeSize) {
        const Seen seen{Offset(util::load_le<std::int64_t>(range)),
                        util::load_le<std::int64_t>(range + 8)};
        if (!state.seen_.empty() &&
            (seen.end < state.seen_.back().end || seen.at_ms < state.seen_.back().at_ms)) {
            return Status::corruption("cleaner progress record has ranges out of order");
        }
        state.seen_.push_back(seen);
    }
    if (state.first_dirty_.value() < 0) {
        return Status::corruption("cleaner progress record has a negative first dirty offset");
    }
    return state;
}

namespace {

template <typename T>
void append_big_endian(std::string& out, T value) {
    for (int shift = static_cast<int>(sizeof(T) * 8) - 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((static_cast<std::uint64_t>(value) >> shift) & 0xff));
    }
}

}  // namespace

std::string progress_key_prefix(std::uint64_t topic_id) {
    std::string key;
    append_big_endian(key, topic_id);
    return key;
}

std::string progress_key(std::uint64_t topic_id, PartitionId partition) {
    std::string key = progress_key_prefix(topic_id);
    append_big_endian(key, static_cast<std::uint32_t>(partition.value()));
    return key;
}

}  // namespace brook::cleaner

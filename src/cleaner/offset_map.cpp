#include "cleaner/offset_map.hpp"

#include <xxhash.h>

#include <algorithm>

namespace brook::cleaner {
namespace {

XXH128_hash_t hash_key(std::string_view key) noexcept { return XXH3_128bits(key.data(), key.size()); }

}  // namespace

namespace {

std::size_t slot_count(std::size_t budget_bytes, std::size_t max_keys) {
    const std::size_t needed = max_keys >= std::numeric_limits<std::size_t>::max() / 10
                                   ? max_keys
                                   : max_keys * 10 / 9 + 2;
    return std::max(OffsetMap::kMinSlots, std::min(budget_bytes / OffsetMap::kSlotBytes, needed));
}

}  // namespace

OffsetMap::OffsetMap(std::size_t budget_bytes, std::size_t max_keys)
    : slots_(slot_count(budget_bytes, max_keys)), limit_(slots_.size() * 9 / 10) {}

std::size_t OffsetMap::find(std::uint64_t low, std::uint64_t high) const noexcept {
    std::size_t i = static_cast<std::size_t>(low % slots_.size());
    while (slots_[i].offset >= 0 && (slots_[i].low != low || slots_[i].high != high)) {
        i = i + 1 == slots_.size() ? 0 : i + 1;
    }
    return i;
}

bool OffsetMap::put(std::string_view key, Offset offset) {
    const XXH128_hash_t h = hash_key(key);
    Slot& slot = slots_[find(h.low64, h.high64)];
    if (slot.offset < 0) {
        if (size_ >= limit_) return false;
        ++size_;
        slot.low = h.low64;
        slot.high = h.high64;
    }
    slot.offset = offset.value();
    return true;
}

std::optional<Offset> OffsetMap::get(std::string_view key) const {
    const XXH128_hash_t h = hash_key(key);
    const Slot& slot = slots_[find(h.low64, h.high64)];
    if (slot.offset < 0) return std::nullopt;
    return Offset(slot.offset);
}

}  // namespace brook::cleaner

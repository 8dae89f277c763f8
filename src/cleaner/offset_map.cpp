#include "cleaner/offset_map.hpp"

#include <xxhash.h>

#include <algorithm>

namespace brook::cleaner {
namespace {

// The table's first size, unless the budget or the key bound is smaller.
constexpr std::size_t kInitialSlots = std::size_t{1} << 16;

std::size_t max_slot_count(std::size_t budget_bytes, std::size_t max_keys) {
    const std::size_t needed =
        max_keys >= std::numeric_limits<std::size_t>::max() / 10 ? max_keys : max_keys * 10 / 9 + 2;
    return std::max(OffsetMap::kMinSlots, std::min(budget_bytes / OffsetMap::kSlotBytes, needed));
}

// Keys at which a table of `slots` grows, or at its largest size refuses new keys.
std::size_t growth_point(std::size_t slots, std::size_t max_slots) {
    return slots >= max_slots ? max_slots * 9 / 10 : slots / 2;
}

}  // namespace

OffsetMap::OffsetMap(std::size_t budget_bytes, std::size_t max_keys)
    : max_slots_(max_slot_count(budget_bytes, max_keys)) {
    slots_.resize(std::min(max_slots_, kInitialSlots));
    grow_at_ = growth_point(slots_.size(), max_slots_);
}

OffsetMap::KeyHash OffsetMap::hash(std::string_view key) noexcept {
    const XXH128_hash_t h = XXH3_128bits(key.data(), key.size());
    return {h.low64, h.high64};
}

std::size_t OffsetMap::find(const KeyHash& h) const noexcept {
    std::size_t i = index(h);
    while (slots_[i].offset >= 0 && (slots_[i].low != h.low || slots_[i].high != h.high)) {
        i = i + 1 == slots_.size() ? 0 : i + 1;
    }
    return i;
}

void OffsetMap::grow() {
    std::vector<Slot> old(std::min(max_slots_, slots_.size() * 2));
    old.swap(slots_);
    for (const Slot& slot : old) {
        if (slot.offset >= 0) slots_[find({slot.low, slot.high})] = slot;
    }
    grow_at_ = growth_point(slots_.size(), max_slots_);
}

bool OffsetMap::put(const KeyHash& h, Offset offset) {
    std::size_t i = find(h);
    if (slots_[i].offset < 0) {
        if (size_ >= grow_at_) {
            if (slots_.size() >= max_slots_) return false;
            grow();
            i = find(h);
        }
        ++size_;
        slots_[i].low = h.low;
        slots_[i].high = h.high;
    }
    slots_[i].offset = offset.value();
    return true;
}

std::optional<Offset> OffsetMap::get(const KeyHash& h) const noexcept {
    const Slot& slot = slots_[find(h)];
    if (slot.offset < 0) return std::nullopt;
    return Offset(slot.offset);
}

}  // namespace brook::cleaner

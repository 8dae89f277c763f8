// OffsetMap: the cleaner's key map, from a key to the offset of its latest record.
//
// An open-addressing table with linear probing over a memory budget fixed at construction
// (log.cleaner.dedupe.buffer.size). Each slot holds the key's 128-bit XXH3 hash and an offset,
// so keys themselves are never stored; two keys share a slot only if their 128-bit hashes
// collide, which the cleaner treats as impossible: for n keys the chance is about n^2 / 2^129
// (under 2^-64 for 2^32 keys), far below the chance of undetected corruption on disk. Keys
// whose hashes merely land on the same slot are told apart by the full hash (probing goes on).
//
// The table starts small and doubles (rehashing the stored hashes) while it is half full, up
// to the most slots the budget allows; at that size it accepts keys until it is loaded to 90%
// (Kafka's log.cleaner.io.buffer.load.factor), so probes stay short; put() then refuses new
// keys and the cleaner ends its dirty range there. A small dirty range so never costs the
// whole budget, and a large one costs what its keys need.
//
// Callers that look up many keys hash them first (hash()), prefetch() their slots a few keys
// ahead, and then put() or get() by hash: the table is far larger than the CPU caches, and
// this lets the memory fetches overlap.
//
// Thread safety: one thread at a time (the pass that owns it).
#pragma once

#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

namespace brook::cleaner {

class OffsetMap {
  public:
    // Bytes one slot takes.
    static constexpr std::size_t kSlotBytes = 24;
    // The table never has fewer slots than this, whatever the budget, so a pass always
    // progresses.
    static constexpr std::size_t kMinSlots = 1024;
    // How many keys ahead of its lookup a caller prefetches a key's slot.
    static constexpr std::size_t kPrefetchDistance = 8;

    struct KeyHash {
        std::uint64_t low = 0;
        std::uint64_t high = 0;
    };

    // A table within `budget_bytes`, and no larger than `max_keys` keys need (the offsets in
    // the dirty range bound its keys).
    explicit OffsetMap(std::size_t budget_bytes,
                       std::size_t max_keys = std::numeric_limits<std::size_t>::max());

    static KeyHash hash(std::string_view key) noexcept;

    // Asks the CPU to fetch the slot where `h` starts probing; a hint only.
    void prefetch(const KeyHash& h) const noexcept { __builtin_prefetch(&slots_[index(h)]); }

    // Records `offset` as the latest offset of the key hashed to `h`. Offsets of one key must
    // not decrease.
    // @return false, changing nothing, when the key is new and the table is at its load limit.
    bool put(const KeyHash& h, Offset offset);
    bool put(std::string_view key, Offset offset) { return put(hash(key), offset); }

    // The latest offset recorded for the key hashed to `h`, or nullopt.
    std::optional<Offset> get(const KeyHash& h) const noexcept;
    std::optional<Offset> get(std::string_view key) const noexcept { return get(hash(key)); }

    // Calls `visit(Offset)` with the offset of every key, in no particular order.
    template <typename Visit>
    void for_each_offset(Visit&& visit) const {
        for (const Slot& slot : slots_) {
            if (slot.offset >= 0) visit(Offset(slot.offset));
        }
    }

    std::size_t size() const noexcept { return size_; }
    // The most keys the table accepts (at its largest size).
    std::size_t capacity() const noexcept { return max_slots_ * 9 / 10; }

  private:
    struct Slot {
        std::uint64_t low = 0;
        std::uint64_t high = 0;
        std::int64_t offset = -1;  // -1: empty
    };
    // Where probing for `h` starts: the hash scaled onto the table (no division).
    std::size_t index(const KeyHash& h) const noexcept {
        return static_cast<std::size_t>((static_cast<unsigned __int128>(h.low) * slots_.size()) >>
                                        64);
    }
    // The slot holding `h`, or the empty slot where it would go.
    std::size_t find(const KeyHash& h) const noexcept;
    // Doubles the table (at most to max_slots_) and reinserts every key.
    void grow();

    std::vector<Slot> slots_;
    std::size_t max_slots_ = 0;
    std::size_t grow_at_ = 0;  // size at which the table grows (or refuses, at its largest)
    std::size_t size_ = 0;
};

}  // namespace brook::cleaner

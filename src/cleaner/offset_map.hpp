// OffsetMap: the cleaner's key map, from a key to the offset of its latest record.
//
// An open-addressing table with linear probing over a memory budget fixed at construction
// (log.cleaner.dedupe.buffer.size). Each slot holds the key's 128-bit XXH3 hash and an offset,
// so keys themselves are never stored; two keys share a slot only if their 128-bit hashes
// collide, which the cleaner treats as impossible (about 2^-64 for 2^32 keys). The table
// accepts keys until it is loaded to 90% (Kafka's log.cleaner.io.buffer.load.factor), so
// probes stay short; put() then refuses new keys and the cleaner ends its dirty range there.
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

    // A table within `budget_bytes`, and no larger than `max_keys` keys need (the offsets in
    // the dirty range bound its keys), so a small dirty range does not cost the whole budget.
    explicit OffsetMap(std::size_t budget_bytes,
                       std::size_t max_keys = std::numeric_limits<std::size_t>::max());

    // Records `offset` as the latest offset of `key`. Offsets of one key must not decrease.
    // @return false, changing nothing, when `key` is new and the table is at its load limit.
    bool put(std::string_view key, Offset offset);

    // The latest offset recorded for `key`, or nullopt.
    std::optional<Offset> get(std::string_view key) const;

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return limit_; }

private:
    struct Slot {
        std::uint64_t low = 0;
        std::uint64_t high = 0;
        std::int64_t offset = -1;  // -1: empty
    };
    // The slot holding the hash of `key`, or the empty slot where it would go.
    std::size_t find(std::uint64_t low, std::uint64_t high) const noexcept;

    std::vector<Slot> slots_;
    std::size_t limit_ = 0;
    std::size_t size_ = 0;
};

}  // namespace brook::cleaner

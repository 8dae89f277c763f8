// LiveOffsets: which offsets of a compaction pass's dirty range hold a record that survives.
//
// A bitmap over [base, base + bits). The pass sets a bit for the latest record of each key
// (from the OffsetMap), for each record without a key and for each control record; every other
// record in the range is superseded or aborted. Deciding a record then takes a bit test instead
// of a key lookup, and a run of clear bits is a run of records the pass need not even read.
// Offsets outside the bitmap test as clear.
//
// Thread safety: one thread at a time (the pass that owns it).
#pragma once

#include <brook/types.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace brook::cleaner {

class LiveOffsets {
  public:
    LiveOffsets() = default;
    LiveOffsets(Offset base, std::size_t bits);

    Offset base() const noexcept { return base_; }
    // One past the last offset the bitmap covers.
    Offset end() const noexcept { return base_ + static_cast<std::int64_t>(bits_); }
    bool covers(Offset o) const noexcept { return o >= base_ && o < end(); }

    // REQUIRES: covers(o).
    void set(Offset o) noexcept {
        const auto i = static_cast<std::size_t>(o - base_);
        words_[i / 64] |= std::uint64_t{1} << (i % 64);
    }
    bool test(Offset o) const noexcept {
        if (!covers(o)) return false;
        const auto i = static_cast<std::size_t>(o - base_);
        return (words_[i / 64] >> (i % 64)) & 1;
    }
    // The first set offset in [from, to), or `to` if none is set.
    Offset next_set(Offset from, Offset to) const noexcept;

  private:
    Offset base_{0};
    std::size_t bits_ = 0;
    std::vector<std::uint64_t> words_;
};

}  // namespace brook::cleaner

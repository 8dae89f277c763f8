#include "cleaner/live_offsets.hpp"

#include <algorithm>
#include <bit>

namespace brook::cleaner {

LiveOffsets::LiveOffsets(Offset base, std::size_t bits)
    : base_(base), bits_(bits), words_((bits + 63) / 64) {}

Offset LiveOffsets::next_set(Offset from, Offset to) const noexcept {
    from = std::max(from, base_);
    const Offset stop = std::min(to, end());
    if (from >= stop) return to;
    auto i = static_cast<std::size_t>(from - base_);
    const auto last = static_cast<std::size_t>(stop - base_);
    std::uint64_t word = words_[i / 64] & (~std::uint64_t{0} << (i % 64));
    for (std::size_t w = i / 64;;) {
        if (word != 0) {
            const std::size_t found = w * 64 + static_cast<std::size_t>(std::countr_zero(word));
            return found < last ? base_ + static_cast<std::int64_t>(found) : to;
        }
        if (++w * 64 >= last) return to;
        word = words_[w];
    }
}

}  // namespace brook::cleaner

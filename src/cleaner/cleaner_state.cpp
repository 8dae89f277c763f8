#include "cleaner/cleaner_state.hpp"

#include <algorithm>

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

}  // namespace brook::cleaner

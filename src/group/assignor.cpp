// The assignors. The sticky one works in three passes: each member keeps the valid partitions
// it owns; every unowned partition goes to the eligible member with the fewest; then, while a
// member has at least two more than another member that could take one of its partitions,
// one moves, preferring partitions that were not already owned. Every move lowers the sum of
// squared counts, so the last pass ends.
#include "group/assignor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace brook::group {
namespace {

// Members in sort-key order (then id, for equal keys).
std::vector<const AssignorMember*> ordered(const std::vector<AssignorMember>& members) {
    std::vector<const AssignorMember*> out;
    for (const auto& m : members) out.push_back(&m);
    std::sort(out.begin(), out.end(), [](const AssignorMember* a, const AssignorMember* b) {
        return std::tie(a->sort_key, a->id) < std::tie(b->sort_key, b->id);
    });
    return out;
}

bool subscribes(const AssignorMember& m, std::string_view topic) {
    return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
}

Assignment empty_assignment(const std::vector<AssignorMember>& members) {
    Assignment out;
    for (const auto& m : members) out[m.id];
    return out;
}

// Every partition of every topic some member subscribes to, sorted.
std::vector<TopicPartition> subscribed_partitions(const std::vector<AssignorMember>& members,
                                                  const PartitionCounts& counts) {
    std::set<std::string> topics;
    for (const auto& m : members) {
        for (const auto& t : m.topics) {
            if (counts.contains(t)) topics.insert(t);
        }
    }
    std::vector<TopicPartition> out;
    for (const auto& t : topics) {
        for (std::int32_t p = 0; p < counts.find(t)->second; ++p)
            out.push_back({t, PartitionId(p)});
    }
    return out;
}

Assignment assign_range(const std::vector<AssignorMember>& members, const PartitionCounts& counts) {
    Assignment out = empty_assignment(members);
    const auto order = ordered(members);
    for (const auto& [topic, partitions] : counts) {
        std::vector<const AssignorMember*> takers;
        for (const auto* m : order) {
            if (subscribes(*m, topic)) takers.push_back(m);
        }
        if (takers.empty()) continue;
        const auto n = static_cast<std::int32_t>(takers.size());
        const std::int32_t each = partitions / n;
        const std::int32_t extra = partitions % n;
        std::int32_t next = 0;
        for (std::int32_t i = 0; i < n; ++i) {
            const std::int32_t share = each + (i < extra ? 1 : 0);
            auto& list = out[takers[static_cast<std::size_t>(i)]->id];
            for (std::int32_t k = 0; k < share; ++k) list.push_back({topic, PartitionId(next++)});
        }
    }
    return out;
}

Assignment assign_roundrobin(const std::vector<AssignorMember>& members,
                             const PartitionCounts& counts) {
    Assignment out = empty_assignment(members);
    const auto order = ordered(members);
    if (order.empty()) return out;
    std::size_t next = 0;
    for (const auto& tp : subscribed_partitions(members, counts)) {
        // Some member subscribes to tp.topic, so this finds one within one lap.
        while (!subscribes(*order[next % order.size()], tp.topic)) ++next;
        out[order[next % order.size()]->id].push_back(tp);
        ++next;
    }
    return out;
}

Assignment assign_sticky(const std::vector<AssignorMember>& members,
                         const PartitionCounts& counts) {
    const auto order = ordered(members);
    const auto all = subscribed_partitions(members, counts);
    const std::set<TopicPartition> exists(all.begin(), all.end());
    std::map<std::string, std::set<TopicPartition>> held;
    std::map<std::string, std::set<TopicPartition>> kept;  // what each member owned and keeps
    std::set<TopicPartition> taken;
    for (const auto* m : order) {
        held[m->id];
        for (const auto& tp : m->owned) {
            if (exists.contains(tp) && subscribes(*m, tp.topic) && taken.insert(tp).second) {
                held[m->id].insert(tp);
            }
        }
        kept[m->id] = held[m->id];
    }
    auto fewest_eligible = [&](const std::string& topic, std::size_t below) {
        const AssignorMember* best = nullptr;
        for (const auto* m : order) {
            if (!subscribes(*m, topic)) continue;
            const std::size_t n = held[m->id].size();
            if (n < below && (best == nullptr || n < held[best->id].size())) best = m;
        }
        return best;
    };
    for (const auto& tp : all) {
        if (taken.contains(tp)) continue;
        held[fewest_eligible(tp.topic, SIZE_MAX)->id].insert(tp);
    }
    for (bool moved = true; moved;) {
        moved = false;
        std::vector<const AssignorMember*> heavy(order.begin(), order.end());
        std::stable_sort(heavy.begin(), heavy.end(), [&](const auto* a, const auto* b) {
            return held[a->id].size() > held[b->id].size();
        });
        for (const auto* donor : heavy) {
            const std::size_t n = held[donor->id].size();
            // Partitions the donor did not own before move first, then owned ones from the end.
            std::vector<TopicPartition> candidates;
            for (const auto& tp : held[donor->id]) {
                if (!kept[donor->id].contains(tp)) candidates.push_back(tp);
            }
            for (auto it = kept[donor->id].rbegin(); it != kept[donor->id].rend(); ++it) {
                if (held[donor->id].contains(*it)) candidates.push_back(*it);
            }
            for (const auto& tp : candidates) {
                const AssignorMember* taker = n >= 2 ? fewest_eligible(tp.topic, n - 1) : nullptr;
                if (taker == nullptr) continue;
                held[donor->id].erase(tp);
                held[taker->id].insert(tp);
                moved = true;
                break;
            }
            if (moved) break;
        }
    }
    Assignment out;
    for (auto& [id, set] : held) out[id] = std::vector<TopicPartition>(set.begin(), set.end());
    return out;
}

}  // namespace

std::string_view strategy_name(Strategy strategy) noexcept {
    switch (strategy) {
        case Strategy::range: return "range";
        case Strategy::roundrobin: return "roundrobin";
        case Strategy::cooperative_sticky: return "cooperative-sticky";
    }
    return "unknown";
}

Result<std::vector<Strategy>> parse_strategies(std::string_view text) {
    std::vector<Strategy> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        std::string_view name = text.substr(start, comma - start);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
        std::optional<Strategy> found;
        for (Strategy s : {Strategy::range, Strategy::roundrobin, Strategy::cooperative_sticky}) {
            if (name == strategy_name(s)) found = s;
        }
        if (!found || std::find(out.begin(), out.end(), *found) != out.end()) {
            return Status::invalid_argument(fmt::format(
                "consumer config partition.assignment.strategy = '{}' is invalid: '{}' is {}; "
                "give a comma-separated list of range, roundrobin and cooperative-sticky",
                text, name, found ? "repeated" : "not a strategy"));
        }
        out.push_back(*found);
        if (comma == text.size()) break;
        start = comma + 1;
    }
    return out;
}

Assignment assign(Strategy strategy, const std::vector<AssignorMember>& members,
                  const PartitionCounts& counts) {
    switch (strategy) {
        case Strategy::range: return assign_range(members, counts);
        case Strategy::roundrobin: return assign_roundrobin(members, counts);
        case Strategy::cooperative_sticky: return assign_sticky(members, counts);
    }
    return empty_assignment(members);
}

}  // namespace brook::group

// Group: membership, rebalances, handover and fenced commits. See group.hpp.
#include "group/group.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "group/group_registry.hpp"

namespace brook::group {
namespace {

bool supports(const MemberOptions& options, Strategy s) {
    return std::find(options.strategies.begin(), options.strategies.end(), s) !=
           options.strategies.end();
}

}  // namespace

Result<std::string> Group::join(const MemberOptions& options, std::int64_t now_ms) {
    std::lock_guard lock(mu_);
    expire_locked(now_ms);
    // A strategy every member, the newcomer included, supports.
    bool shared = false;
    for (Strategy s : options.strategies) {
        shared = shared || std::all_of(members_.begin(), members_.end(), [&](const auto& entry) {
                     return supports(entry.second.options, s);
                 });
    }
    if (!shared) {
        return Status::invalid_argument(fmt::format(
            "cannot join group '{}': its members use partition.assignment.strategy values that "
            "share none with this consumer's; give every member of a group a common strategy",
            id_));
    }
    const std::string member_id = fmt::format(
        "{}-{:010}", options.client_id.empty() ? "consumer" : options.client_id, ++next_member_);
    if (options.instance_id) {
        auto same = std::find_if(members_.begin(), members_.end(), [&](const auto& entry) {
            return entry.second.options.instance_id == options.instance_id;
        });
        if (same != members_.end()) {
            // Static membership: the newcomer takes over the identity and the target, with no
            // rebalance. A live holder of the id is fenced out.
            Member taken = std::move(same->second);
            const std::string old_id = same->first;
            release_locked(taken, {taken.owned.begin(), taken.owned.end()});
            members_.erase(same);
            removed_[old_id] =
                Removal{fmt::format("a newer consumer with group.instance.id '{}' replaced it",
                                    *options.instance_id),
                        true};
            const bool resubscribed =
                taken.options.subscription.topics != options.subscription.topics ||
                taken.options.subscription.pattern != options.subscription.pattern;
            taken.options = options;
            taken.generation = -1;
            taken.joined = true;
            taken.last_poll_ms = now_ms;
            taken.departed_ms.reset();
            members_.emplace(member_id, std::move(taken));
            if (resubscribed) start_rebalance_locked();
            members_.at(member_id).joined = true;
            try_complete_locked();
            registry_.store().notify();
            return member_id;
        }
    }
    Member member;
    member.options = options;
    member.last_poll_ms = now_ms;
    members_.emplace(member_id, std::move(member));
    start_rebalance_locked();
    members_.at(member_id).joined = true;
    try_complete_locked();
    return member_id;
}

SyncResult Group::sync(const std::string& member_id, std::int64_t now_ms) {
    std::lock_guard lock(mu_);
    expire_locked(now_ms);
    SyncResult result;
    auto it = members_.find(member_id);
    if (it == members_.end()) {
        result.removed = true;
        result.reason = removal_reason_locked(member_id);
        auto why = removed_.find(member_id);
        if (why != removed_.end()) {
            result.replaced = why->second.replaced;
            removed_.erase(why);
        }
        return result;
    }
    Member& m = it->second;
    m.last_poll_ms = now_ms;
    if (!preparing_ && topics_changed_locked()) start_rebalance_locked();
    try_complete_locked();  // a rebalance that could not read the topics before retries here
    result.generation = generation_;
    if (preparing_) {
        result.rejoin = !m.joined;
        return result;
    }
    result.new_generation = m.generation != generation_;
    m.generation = generation_;
    for (const auto& tp : m.owned) {
        if (!m.target.contains(tp)) result.revoke.push_back(tp);
    }
    for (const auto& tp : m.target) {
        if (m.owned.contains(tp) || owner_.contains(tp)) continue;
        owner_[tp] = member_id;
        m.owned.insert(tp);
        result.granted.push_back(tp);
    }
    return result;
}

Status Group::rejoin(const std::string& member_id) {
    std::lock_guard lock(mu_);
    auto it = members_.find(member_id);
    if (it == members_.end()) {
        return Status::error(Code::fenced,
                             fmt::format("member {} is no longer in group '{}'", member_id, id_));
    }
    it->second.joined = true;
    try_complete_locked();
    return Status::ok();
}

void Group::release(const std::string& member_id, const std::vector<TopicPartition>& partitions) {
    std::lock_guard lock(mu_);
    auto it = members_.find(member_id);
    if (it == members_.end()) return;
    release_locked(it->second, partitions);
    registry_.store().notify();
}

Status Group::resubscribe(const std::string& member_id, const Subscription& subscription) {
    std::lock_guard lock(mu_);
    auto it = members_.find(member_id);
    if (it == members_.end()) {
        return Status::error(Code::fenced,
                             fmt::format("member {} is no longer in group '{}'", member_id, id_));
    }
    it->second.options.subscription = subscription;
    start_rebalance_locked();
    it->second.joined = true;
    try_complete_locked();
    return Status::ok();
}

void Group::leave(const std::string& member_id, std::int64_t now_ms, bool permanent) {
    std::lock_guard lock(mu_);
    auto it = members_.find(member_id);
    if (it == members_.end()) return;
    Member& m = it->second;
    if (m.options.instance_id && !permanent) {
        release_locked(m, {m.owned.begin(), m.owned.end()});
        m.departed_ms = now_ms;
        m.joined = true;
        try_complete_locked();
        registry_.store().notify();
        return;
    }
    remove_locked(member_id, "it left the group");
    removed_.erase(member_id);
    try_complete_locked();
}

Status Group::commit(const std::string& member_id, const std::vector<TopicPartitionOffset>& offsets,
                     std::int64_t now_ms) {
    std::lock_guard lock(mu_);
    expire_locked(now_ms);
    BROOK_RETURN_IF_ERROR(check_commit_locked(member_id, offsets));
    return registry_.with_offsets(
        [&](OffsetTable& table) { return table.commit(id_, offsets, now_ms); });
}

Status Group::check_commit(const std::string& member_id, std::int32_t generation,
                           const std::vector<TopicPartitionOffset>& offsets, std::int64_t now_ms) {
    std::lock_guard lock(mu_);
    expire_locked(now_ms);
    BROOK_RETURN_IF_ERROR(check_commit_locked(member_id, offsets));
    if (!member_id.empty() && generation != generation_) {
        return Status::error(
            Code::fenced,
            fmt::format("offsets refused: member {} of group '{}' sent generation {}, the group "
                        "is at generation {}. Poll to rejoin, then send the offsets again",
                        member_id, id_, generation, generation_));
    }
    return Status::ok();
}

Status Group::check_commit_locked(const std::string& member_id,
                                  const std::vector<TopicPartitionOffset>& offsets) const {
    if (member_id.empty()) {
        if (!members_.empty()) {
            return Status::error(
                Code::fenced,
                fmt::format("group '{}' has active members (generation {}); a consumer that "
                            "did not subscribe() cannot commit for it. Use another group.id",
                            id_, generation_));
        }
    } else {
        auto it = members_.find(member_id);
        if (it == members_.end()) {
            return Status::error(
                Code::fenced,
                fmt::format("commit refused: member {} of group '{}' has a stale generation "
                            "because {}; the group is at generation {}. Poll to rejoin",
                            member_id, id_, removal_reason_locked(member_id), generation_));
        }
        for (const auto& o : offsets) {
            const TopicPartition tp{o.topic, o.partition};
            if (!it->second.owned.contains(tp)) {
                auto owner = owner_.find(tp);
                return Status::error(
                    Code::fenced,
                    fmt::format(
                        "commit refused: {}/{} is not owned by member {} of group '{}' "
                        "(generation {}){}",
                        o.topic, o.partition.value(), member_id, id_, generation_,
                        owner == owner_.end() ? "" : fmt::format("; {} owns it", owner->second)));
            }
        }
    }
    // Offsets of a deleted topic are dropped with it, so none may be written afterwards. The
    // records below a committed offset are made durable first: after a power cut the offset
    // would otherwise point past the log end (acks=1 records not yet flushed).
    for (const auto& o : offsets) {
        BROOK_RETURN_IF_ERROR(registry_.store().sync_below({o.topic, o.partition}, o.offset));
    }
    return Status::ok();
}

GroupSnapshot Group::snapshot(std::int64_t now_ms) {
    std::lock_guard lock(mu_);
    expire_locked(now_ms);
    GroupSnapshot out;
    out.generation = generation_;
    out.state = members_.empty() ? GroupState::empty
                : preparing_     ? GroupState::preparing_rebalance
                                 : GroupState::stable;
    if (!members_.empty()) out.protocol = std::string(strategy_name(strategy_));
    for (const auto& [id, m] : members_) {
        out.members.push_back({id, m.options.instance_id, m.options.client_id,
                               std::vector<TopicPartition>(m.owned.begin(), m.owned.end())});
    }
    return out;
}

void Group::expire_locked(std::int64_t now_ms) {
    std::vector<std::pair<std::string, std::string>> overdue;
    for (const auto& [id, m] : members_) {
        if (m.departed_ms) {
            if (now_ms - *m.departed_ms > m.options.session_timeout_ms) {
                overdue.emplace_back(
                    id, fmt::format("it left as a static member and did not return within "
                                    "session.timeout.ms ({} ms)",
                                    m.options.session_timeout_ms));
            }
        } else if (now_ms - m.last_poll_ms > m.options.max_poll_interval_ms) {
            overdue.emplace_back(
                id, fmt::format(
                        "it did not poll within max.poll.interval.ms ({} ms); its partitions were "
                        "reassigned",
                        m.options.max_poll_interval_ms));
        }
    }
    for (auto& [id, reason] : overdue) remove_locked(id, std::move(reason));
    if (!overdue.empty()) try_complete_locked();
}

void Group::remove_locked(const std::string& member_id, std::string reason) {
    auto it = members_.find(member_id);
    release_locked(it->second, {it->second.owned.begin(), it->second.owned.end()});
    members_.erase(it);
    // Only the latest reasons are kept, so a member that never comes back costs little.
    if (removed_.size() >= 1024) removed_.erase(removed_.begin());
    removed_[member_id] = Removal{std::move(reason), false};
    start_rebalance_locked();
}

std::string Group::removal_reason_locked(const std::string& member_id) const {
    auto why = removed_.find(member_id);
    return why == removed_.end() ? "it is not a member" : why->second.reason;
}

void Group::start_rebalance_locked() {
    if (!preparing_) {
        preparing_ = true;
        for (auto& [id, m] : members_) m.joined = m.departed_ms.has_value();
    }
    registry_.store().notify();
}

void Group::release_locked(Member& member, const std::vector<TopicPartition>& partitions) {
    for (const auto& tp : partitions) {
        if (!member.owned.erase(tp)) continue;
        owner_.erase(tp);
    }
}

std::vector<std::string> Group::resolve_locked(const Subscription& s,
                                               const PartitionCounts& counts) {
    std::vector<std::string> out;
    if (s.pattern.empty()) {
        for (const auto& t : s.topics) {
            if (counts.contains(t)) out.push_back(t);
        }
    } else {
        for (const auto& [t, n] : counts) {
            if (s.pattern.matches(t)) out.push_back(t);
        }
    }
    return out;
}

bool Group::topics_changed_locked() {
    const std::uint64_t version = registry_.store().topology_version();
    if (version == topology_seen_) return false;
    auto all = registry_.store().partition_counts();
    if (!all) return false;
    topology_seen_ = version;
    PartitionCounts relevant;
    for (const auto& [id, m] : members_) {
        for (const auto& t : resolve_locked(m.options.subscription, *all)) relevant[t] = (*all)[t];
    }
    return relevant != counts_;
}

void Group::try_complete_locked() {
    if (!preparing_) return;
    for (const auto& [id, m] : members_) {
        if (!m.joined) return;
    }
    if (members_.empty()) {
        preparing_ = false;
        ++generation_;
        counts_.clear();
        owner_.clear();
        return;
    }
    const std::uint64_t version = registry_.store().topology_version();
    auto all = registry_.store().partition_counts();
    if (!all) return;  // retried at the next sync
    // The first strategy, in the oldest member's order of preference, that all support.
    const MemberOptions& oldest = members_.begin()->second.options;
    for (Strategy s : oldest.strategies) {
        if (std::all_of(members_.begin(), members_.end(),
                        [&](const auto& entry) { return supports(entry.second.options, s); })) {
            strategy_ = s;
            break;
        }
    }
    std::vector<AssignorMember> input;
    counts_.clear();
    for (const auto& [id, m] : members_) {
        AssignorMember a;
        a.id = id;
        a.sort_key = m.options.instance_id.value_or(id);
        a.topics = resolve_locked(m.options.subscription, *all);
        for (const auto& t : a.topics) counts_[t] = (*all)[t];
        const auto& held = m.departed_ms ? m.target : m.owned;
        a.owned.assign(held.begin(), held.end());
        input.push_back(std::move(a));
    }
    const Assignment assignment = assign(strategy_, input, *all);
    for (auto& [id, m] : members_) {
        const auto& mine = assignment.at(id);
        m.target = std::set<TopicPartition>(mine.begin(), mine.end());
    }
    topology_seen_ = version;
    ++generation_;
    preparing_ = false;
    registry_.store().notify();
}

Status Group::busy_locked() const {
    std::string names;
    for (const auto& [id, m] : members_) {
        if (!names.empty()) names += ", ";
        names += id;
    }
    return Status::busy(fmt::format(
        "group '{}' has active members ({}); close its consumers first, or wait for them to "
        "be removed after max.poll.interval.ms or session.timeout.ms",
        id_, names));
}

}  // namespace brook::group

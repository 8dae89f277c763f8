// GroupAdmin: list, describe, reset and delete consumer groups (include/brook/group_admin.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <brook/group_admin.hpp>
#include <map>
#include <set>

#include "group/group_registry.hpp"
#include "store/store_core.hpp"

namespace brook {
namespace {

GroupState to_public(group::GroupState state) {
    switch (state) {
        case group::GroupState::empty: return GroupState::empty;
        case group::GroupState::preparing_rebalance: return GroupState::preparing_rebalance;
        case group::GroupState::stable: return GroupState::stable;
    }
    return GroupState::empty;
}

Status unknown_group(std::string_view group_id) {
    return Status::not_found(fmt::format(
        "group '{}' does not exist: it has no members and no committed offsets", group_id));
}

}  // namespace

GroupAdmin::GroupAdmin(const Store& store) : core_(store.core()) {}

Result<std::vector<GroupListing>> GroupAdmin::list_groups() const {
    BROOK_RETURN_IF_ERROR(core_->check_open());
    auto& registry = core_->groups();
    std::set<std::string> ids;
    for (auto& id : registry.ids()) ids.insert(std::move(id));
    BROOK_RETURN_IF_ERROR(registry.with_offsets([&](group::OffsetTable& table) {
        BROOK_ASSIGN_OR_RETURN(auto stored, table.groups());
        ids.insert(stored.begin(), stored.end());
        return Status::ok();
    }));
    std::vector<GroupListing> out;
    const std::int64_t now = core_->clock().now_ms();
    for (const auto& id : ids) {
        GroupListing listing{id, GroupState::empty, 0};
        if (auto group = registry.find(id)) {
            const auto snapshot = group->snapshot(now);
            listing.state = to_public(snapshot.state);
            listing.members = snapshot.members.size();
        }
        out.push_back(std::move(listing));
    }
    return out;
}

Result<GroupDescription> GroupAdmin::describe_group(std::string_view group_id,
                                                    IsolationLevel isolation) const {
    BROOK_RETURN_IF_ERROR(core_->check_open());
    BROOK_RETURN_IF_ERROR(group::validate_group_id(group_id));
    auto& registry = core_->groups();
    GroupDescription out;
    out.group_id = std::string(group_id);
    if (auto group = registry.find(group_id)) {
        auto snapshot = group->snapshot(core_->clock().now_ms());
        out.state = to_public(snapshot.state);
        out.generation = snapshot.generation;
        out.protocol = std::move(snapshot.protocol);
        for (auto& m : snapshot.members) {
            out.members.push_back({std::move(m.member_id), std::move(m.instance_id),
                                   std::move(m.client_id), std::move(m.owned)});
        }
    }
    std::map<TopicPartition, std::optional<Offset>> partitions;
    BROOK_RETURN_IF_ERROR(registry.with_offsets([&](group::OffsetTable& table) {
        BROOK_ASSIGN_OR_RETURN(auto committed, table.fetch_all(group_id));
        for (const auto& [tp, c] : committed) partitions[tp] = c.offset;
        return Status::ok();
    }));
    if (partitions.empty() && out.members.empty() && !registry.find(group_id)) {
        return unknown_group(group_id);
    }
    for (const auto& m : out.members) {
        for (const auto& tp : m.assignment) partitions.try_emplace(tp);
    }
    for (const auto& [tp, committed] : partitions) {
        auto state = core_->partition(tp.topic, tp.partition);
        if (state.code() == Code::not_found) continue;  // offsets of a deleted topic
        if (!state) return state.status();
        PartitionLag lag{tp.topic, tp.partition, committed, (*state)->log->log_end_offset(), {}};
        lag.last_stable_offset = (*state)->log->last_stable_offset();
        // A read_committed group can read no further than the last stable offset.
        const Offset end = isolation == IsolationLevel::read_committed ? lag.last_stable_offset
                                                                       : lag.log_end_offset;
        if (committed) {
            lag.lag = std::max<std::int64_t>(0, end - *committed);
            out.total_lag += *lag.lag;
        }
        out.partitions.push_back(std::move(lag));
    }
    return out;
}

Result<std::vector<TopicPartitionOffset>> GroupAdmin::reset_offsets(std::string_view group_id,
                                                                    std::string_view topic,
                                                                    const OffsetResetSpec& to) {
    BROOK_RETURN_IF_ERROR(core_->check_open());
    BROOK_ASSIGN_OR_RETURN(auto group, core_->groups().get(group_id));
    BROOK_ASSIGN_OR_RETURN(auto state, core_->topic(topic));
    if (to.kind == OffsetResetSpec::Kind::offset && to.value < 0) {
        return Status::invalid_argument(fmt::format(
            "reset_offsets: offset {} is negative; use OffsetResetSpec::earliest() or latest()",
            to.value));
    }
    std::vector<TopicPartitionOffset> offsets;
    for (const auto& partition : state->partitions) {
        const Offset start = partition->log->log_start_offset();
        const Offset end = partition->log->log_end_offset();
        Offset target = start;
        switch (to.kind) {
            case OffsetResetSpec::Kind::earliest: target = start; break;
            case OffsetResetSpec::Kind::latest: target = end; break;
            case OffsetResetSpec::Kind::offset:
                target = std::clamp(Offset(to.value), start, end);
                break;
            case OffsetResetSpec::Kind::timestamp: {
                BROOK_ASSIGN_OR_RETURN(auto found, partition->log->offset_for_timestamp(to.value));
                target = found.value_or(end);
                break;
            }
        }
        offsets.push_back({std::string(topic), partition->id, target});
    }
    const std::int64_t now = core_->clock().now_ms();
    BROOK_RETURN_IF_ERROR(group->if_empty(now, [&] {
        return core_->groups().with_offsets(
            [&](group::OffsetTable& table) { return table.commit(group_id, offsets, now); });
    }));
    return offsets;
}

Status GroupAdmin::delete_group(std::string_view group_id) {
    BROOK_RETURN_IF_ERROR(core_->check_open());
    BROOK_RETURN_IF_ERROR(group::validate_group_id(group_id));
    auto& registry = core_->groups();
    auto group = registry.find(group_id);
    bool had_offsets = false;
    auto remove = [&] {
        return registry.with_offsets([&](group::OffsetTable& table) {
            BROOK_ASSIGN_OR_RETURN(auto stored, table.fetch_all(group_id));
            had_offsets = !stored.empty();
            return table.remove(group_id);
        });
    };
    if (group) {
        BROOK_RETURN_IF_ERROR(group->if_empty(core_->clock().now_ms(), remove));
        registry.forget(group_id);
        return Status::ok();
    }
    BROOK_RETURN_IF_ERROR(remove());
    return had_offsets ? Status::ok() : unknown_group(group_id);
}

}  // namespace brook

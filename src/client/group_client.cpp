#include "client/group_client.hpp"

#include <fmt/format.h>

#include "store/store_core.hpp"

namespace brook::client {

GroupClient::GroupClient(std::shared_ptr<detail::StoreCore> core,
                         std::shared_ptr<group::Group> group, GroupClientConfig config)
    : core_(std::move(core)), group_(std::move(group)), config_(std::move(config)) {}

Status GroupClient::subscribe(const group::Subscription& subscription) {
    config_.member.subscription = subscription;
    if (subscribed()) return group_->resubscribe(member_id_, subscription);
    // delete_group may have replaced the group object since this client last joined.
    BROOK_ASSIGN_OR_RETURN(group_, core_->groups().get(group_->id()));
    const std::int64_t now = core_->clock().now_ms();
    BROOK_ASSIGN_OR_RETURN(member_id_, group_->join(config_.member, now));
    generation_ = -1;
    next_auto_commit_ms_ = now + config_.auto_commit_interval_ms;
    return Status::ok();
}

void GroupClient::give_up(Host& host, const std::vector<TopicPartition>& partitions) {
    if (partitions.empty()) return;
    auto_commit(host, partitions);
    host.revoked(partitions);
    host.remove(partitions);
    group_->release(member_id_, partitions);
}

void GroupClient::leave(Host& host, bool permanent) {
    flush_async();
    if (!subscribed()) return;
    give_up(host, host.owned());
    group_->leave(member_id_, core_->clock().now_ms(), permanent);
    member_id_.clear();
    generation_ = -1;
}

Status GroupClient::step(Host& host) {
    flush_async();
    if (!subscribed()) return Status::ok();
    const bool cooperative =
        config_.member.strategies == std::vector{group::Strategy::cooperative_sticky};
    // Each pass moves the member forward (rejoined, revoked, or joined anew); a few suffice.
    for (int pass = 0; pass < 4; ++pass) {
        const std::int64_t now = core_->clock().now_ms();
        group::SyncResult r = group_->sync(member_id_, now);
        if (r.removed) {
            const auto lost = host.owned();
            host.remove(lost);
            if (!lost.empty()) host.lost(lost);
            member_id_.clear();
            generation_ = -1;
            if (r.replaced) {
                return Status::error(
                    Code::fenced,
                    fmt::format("this consumer left group '{}': {}; subscribe() again to take "
                                "the identity back",
                                group_->id(), r.reason));
            }
            BROOK_RETURN_IF_ERROR(subscribe(config_.member.subscription));
            continue;
        }
        if (r.rejoin) {
            if (!cooperative) give_up(host, host.owned());
            BROOK_RETURN_IF_ERROR(group_->rejoin(member_id_));
            continue;
        }
        give_up(host, r.revoke);
        if (!r.granted.empty() || r.new_generation) {
            BROOK_ASSIGN_OR_RETURN(auto positions, committed(r.granted));
            host.add(positions);
            host.assigned(r.granted);
        }
        generation_ = r.generation;
        break;
    }
    const std::int64_t now = core_->clock().now_ms();
    if (config_.enable_auto_commit && now >= next_auto_commit_ms_) {
        auto_commit(host, host.owned());
        next_auto_commit_ms_ = now + config_.auto_commit_interval_ms;
    }
    return Status::ok();
}

void GroupClient::auto_commit(Host& host, const std::vector<TopicPartition>& partitions) {
    if (!config_.enable_auto_commit || partitions.empty()) return;
    // A failure (a member just removed, a closed store) leaves the last commit in place; the
    // partitions are re-read from there, which at-least-once allows.
    commit(host.consumed(partitions)).ignore();
}

Status GroupClient::commit(const std::vector<TopicPartitionOffset>& offsets) {
    flush_async();
    if (offsets.empty()) return Status::ok();
    return group_->commit(member_id_, offsets, core_->clock().now_ms());
}

void GroupClient::commit_async(std::vector<TopicPartitionOffset> offsets, CommitCallback done) {
    pending_.push_back({std::move(offsets), std::move(done)});
}

void GroupClient::flush_async() {
    // Callbacks may queue more commits; those wait for the next flush.
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& p : pending) {
        Status status = p.offsets.empty()
                            ? Status::ok()
                            : group_->commit(member_id_, p.offsets, core_->clock().now_ms());
        if (p.done) p.done(status, p.offsets);
    }
}

Result<std::vector<TopicPartitionOffset>> GroupClient::committed(
    const std::vector<TopicPartition>& partitions) const {
    std::vector<TopicPartitionOffset> out;
    BROOK_RETURN_IF_ERROR(core_->groups().with_offsets([&](group::OffsetTable& table) {
        for (const auto& tp : partitions) {
            BROOK_ASSIGN_OR_RETURN(auto found, table.fetch(group_->id(), tp));
            out.push_back({tp.topic, tp.partition, found ? found->offset : kOffsetInvalid});
        }
        return Status::ok();
    }));
    return out;
}

}  // namespace brook::client

// Consumer::Impl's consumer group (client/consumer_impl.hpp): with group.id, the GroupClient it
// owns, subscribe() and unsubscribe(), commits and the group metadata, and the GroupClient::Host
// callbacks through which the client changes the assignment and runs the rebalance listener.
//
// The Host callbacks run on the polling thread, inside poll(), consume(), unsubscribe() and
// close(), with mu_ not held: each takes it only to look at or change the assignment, and the
// listener callbacks run without it, so they may call back into the consumer.
#include <fmt/format.h>

#include <algorithm>

#include "client/consumer_impl.hpp"

namespace brook {
namespace {

using client::AssignedPartition;

}  // namespace

Status Consumer::Impl::init(Consumer& self) {
    self_ = &self;
    if (config_.group_id.empty()) return Status::ok();
    if (core_->read_only()) {
        return Status::invalid_argument(
            "group.id cannot be used on a read-only store: commits write the store; read it "
            "with assign() instead");
    }
    BROOK_ASSIGN_OR_RETURN(auto group, core_->groups().get(config_.group_id));
    group_ = std::make_unique<client::GroupClient>(core_, std::move(group), config_.group);
    return Status::ok();
}

Status Consumer::Impl::subscribe(const group::Subscription& subscription,
                                 std::shared_ptr<RebalanceListener> listener) {
    BROOK_RETURN_IF_ERROR(check_open());
    if (!group_) {
        return Status::invalid_argument(
            "subscribe() needs the consumer config group.id: a subscription belongs to a "
            "consumer group");
    }
    if (subscription.pattern.empty() && subscription.topics.empty()) {
        return Status::invalid_argument(
            "subscribe() needs at least one topic; use unsubscribe() to leave the group");
    }
    if (!group_->subscribed()) {
        std::lock_guard lock(mu_);
        if (!assigned_.empty()) {
            return Status::invalid_argument(
                "subscribe() cannot be used while partitions are assigned with assign(); "
                "unassign() first");
        }
    }
    listener_ = std::move(listener);
    return group_->subscribe(subscription);
}

Status Consumer::Impl::unsubscribe() {
    BROOK_RETURN_IF_ERROR(check_open());
    if (group_) group_->leave(*this, true);
    return Status::ok();
}

std::string Consumer::Impl::member_id() const {
    return group_ ? group_->member_id() : std::string();
}

Result<ConsumerGroupMetadata> Consumer::Impl::group_metadata() const {
    BROOK_RETURN_IF_ERROR(check_group("group_metadata"));
    return ConsumerGroupMetadata{config_.group_id, group_->generation(), group_->member_id(),
                                 config_.group.member.instance_id};
}

Status Consumer::Impl::commit(std::optional<std::vector<TopicPartitionOffset>> offsets) {
    BROOK_RETURN_IF_ERROR(check_group("commit"));
    return group_->commit(offsets ? *offsets : consumed(owned()));
}

void Consumer::Impl::commit_async(std::optional<std::vector<TopicPartitionOffset>> offsets,
                                  CommitCallback callback) {
    if (Status usable = check_group("commit_async"); !usable) {
        if (callback) callback(usable, offsets.value_or(std::vector<TopicPartitionOffset>{}));
        return;
    }
    group_->commit_async(offsets ? std::move(*offsets) : consumed(owned()), std::move(callback));
}

Result<std::vector<TopicPartitionOffset>> Consumer::Impl::committed(
    const std::vector<TopicPartition>& partitions) const {
    BROOK_RETURN_IF_ERROR(check_group("committed"));
    return group_->committed(partitions);
}

Status Consumer::Impl::check_group(std::string_view op) const {
    BROOK_RETURN_IF_ERROR(check_open());
    if (group_) return Status::ok();
    return Status::invalid_argument(fmt::format(
        "{}() needs the consumer config group.id: offsets are committed for a group", op));
}

// ---- GroupClient::Host ---------------------------------------------------------------------

std::vector<TopicPartition> Consumer::Impl::owned() {
    return assignment();
}

std::vector<TopicPartitionOffset> Consumer::Impl::consumed(
    const std::vector<TopicPartition>& partitions) {
    std::lock_guard lock(mu_);
    std::vector<TopicPartitionOffset> out;
    for (const auto& tp : partitions) {
        const AssignedPartition* p = find_locked(tp);
        if (p && p->position >= Offset(0)) out.push_back({tp.topic, tp.partition, p->position});
    }
    return out;
}

void Consumer::Impl::add(const std::vector<TopicPartitionOffset>& partitions) {
    std::vector<AssignedPartition> added;
    for (const auto& request : partitions) {
        // A partition of a topic deleted meanwhile is left out; the next rebalance drops it.
        auto state = core_->partition(request.topic, request.partition);
        if (!state) continue;
        AssignedPartition p;
        p.tp = {request.topic, request.partition};
        p.state = std::move(state).value();
        p.position = request.offset;
        added.push_back(std::move(p));
    }
    std::lock_guard lock(mu_);
    for (auto& p : added) {
        if (find_locked(p.tp) == nullptr) assigned_.push_back(std::move(p));
    }
}

void Consumer::Impl::remove(const std::vector<TopicPartition>& partitions) {
    std::lock_guard lock(mu_);
    std::erase_if(assigned_, [&](const AssignedPartition& p) {
        return std::find(partitions.begin(), partitions.end(), p.tp) != partitions.end();
    });
    next_index_ = 0;
}

void Consumer::Impl::assigned(const std::vector<TopicPartition>& partitions) {
    if (listener_) listener_->on_partitions_assigned(*self_, partitions);
}

void Consumer::Impl::revoked(const std::vector<TopicPartition>& partitions) {
    if (listener_) listener_->on_partitions_revoked(*self_, partitions);
}

void Consumer::Impl::lost(const std::vector<TopicPartition>& partitions) {
    if (listener_) listener_->on_partitions_lost(*self_, partitions);
}

}  // namespace brook

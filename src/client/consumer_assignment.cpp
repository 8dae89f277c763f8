// Consumer::Impl's assignment (client/consumer_impl.hpp): the partitions it reads and where,
// as set by assign(), seek() and pause(), looked up by position() and offset queries, and
// ended by close(). The group's changes to it are in client/consumer_group.cpp.
//
// Every change to the assignment, and every look at it, is made under mu_; assign() looks its
// partitions up in the store before taking it.
#include <fmt/format.h>

#include <algorithm>

#include "client/consumer_impl.hpp"

namespace brook {
namespace {

using client::AssignedPartition;
using client::name_of;

// The entry of `assigned` (const or not) for `tp`, or null.
template <typename Vector>
auto* find_in(Vector& assigned, const TopicPartition& tp) {
    auto it = std::find_if(assigned.begin(), assigned.end(),
                           [&](const AssignedPartition& p) { return p.tp == tp; });
    return it == assigned.end() ? nullptr : &*it;
}

}  // namespace

Status Consumer::Impl::assign(const std::vector<TopicPartitionOffset>& partitions) {
    BROOK_RETURN_IF_ERROR(check_open());
    if (group_ && group_->subscribed()) {
        return Status::invalid_argument(
            "assign() cannot be used while subscribed to a group; unsubscribe() first");
    }
    std::vector<AssignedPartition> next;
    for (const auto& request : partitions) {
        BROOK_ASSIGN_OR_RETURN(auto state, core_->partition(request.topic, request.partition));
        AssignedPartition p;
        p.tp = {request.topic, request.partition};
        p.state = std::move(state);
        BROOK_ASSIGN_OR_RETURN(p.position, fetch_.resolve_start(p, request.offset));
        if (p.position == kOffsetInvalid && group_) {
            BROOK_ASSIGN_OR_RETURN(auto committed, group_->committed({p.tp}));
            p.position = committed.front().offset;
        }
        // A partition named twice keeps the last entry's offset.
        if (AssignedPartition* same = find_in(next, p.tp)) {
            *same = std::move(p);
        } else {
            next.push_back(std::move(p));
        }
    }
    std::lock_guard lock(mu_);
    BROOK_RETURN_IF_ERROR(check_open_locked());
    assigned_ = std::move(next);
    next_index_ = 0;
    return Status::ok();
}

Status Consumer::Impl::unassign() {
    if (group_ && group_->subscribed()) {
        return Status::invalid_argument(
            "unassign() cannot be used while subscribed to a group; unsubscribe() instead");
    }
    std::lock_guard lock(mu_);
    BROOK_RETURN_IF_ERROR(check_open_locked());
    assigned_.clear();
    return Status::ok();
}

std::vector<TopicPartition> Consumer::Impl::assignment() const {
    std::lock_guard lock(mu_);
    std::vector<TopicPartition> out;
    for (const auto& p : assigned_) out.push_back(p.tp);
    return out;
}

Status Consumer::Impl::seek(const TopicPartitionOffset& target) {
    std::lock_guard lock(mu_);
    BROOK_RETURN_IF_ERROR(check_open_locked());
    AssignedPartition* p = find_locked({target.topic, target.partition});
    if (p == nullptr) {
        return Status::invalid_argument(
            fmt::format("seek: {} is not assigned", name_of({target.topic, target.partition})));
    }
    BROOK_ASSIGN_OR_RETURN(p->position, fetch_.resolve_start(*p, target.offset));
    p->buffered.clear();
    p->ahead = client::AheadRead();
    p->errored = false;
    return Status::ok();
}

Result<std::vector<TopicPartitionOffset>> Consumer::Impl::position(
    const std::vector<TopicPartition>& partitions) const {
    std::lock_guard lock(mu_);
    BROOK_RETURN_IF_ERROR(check_open_locked());
    std::vector<TopicPartitionOffset> out;
    for (const auto& tp : partitions) {
        const AssignedPartition* p = find_locked(tp);
        out.push_back({tp.topic, tp.partition, p ? p->position : kOffsetInvalid});
    }
    return out;
}

Status Consumer::Impl::set_paused(const std::vector<TopicPartition>& partitions, bool paused) {
    std::lock_guard lock(mu_);
    BROOK_RETURN_IF_ERROR(check_open_locked());
    std::vector<AssignedPartition*> found;
    for (const auto& tp : partitions) {
        AssignedPartition* p = find_locked(tp);
        if (p == nullptr) {
            return Status::invalid_argument(
                fmt::format("{}: {} is not assigned", paused ? "pause" : "resume", name_of(tp)));
        }
        found.push_back(p);
    }
    for (AssignedPartition* p : found) p->paused = paused;
    return Status::ok();
}

Result<WatermarkOffsets> Consumer::Impl::get_watermark_offsets(const TopicPartition& tp) const {
    BROOK_RETURN_IF_ERROR(check_open());
    BROOK_ASSIGN_OR_RETURN(auto state, core_->partition(tp.topic, tp.partition));
    return WatermarkOffsets{state->log->log_start_offset(), fetch_.end_offset(*state)};
}

Result<std::vector<TopicPartitionOffset>> Consumer::Impl::offsets_for_times(
    const std::vector<TopicPartitionTimestamp>& query) const {
    BROOK_RETURN_IF_ERROR(check_open());
    std::vector<TopicPartitionOffset> out;
    for (const auto& q : query) {
        BROOK_ASSIGN_OR_RETURN(auto state, core_->partition(q.topic, q.partition));
        BROOK_ASSIGN_OR_RETURN(auto found, state->log->offset_for_timestamp(q.timestamp));
        out.push_back({q.topic, q.partition, found.value_or(kOffsetEnd)});
    }
    return out;
}

Status Consumer::Impl::close() {
    if (group_ && !is_closed()) group_->leave(*this, false);
    {
        std::lock_guard lock(mu_);
        if (closed_) return Status::closed("the consumer is already closed");
        closed_ = true;
        assigned_.clear();
    }
    // Wake a poll() blocked in another thread; it sees closed_ and returns nothing.
    wakeup();
    return Status::ok();
}

bool Consumer::Impl::is_closed() const {
    std::lock_guard lock(mu_);
    return closed_;
}

Status Consumer::Impl::check_open() const {
    {
        std::lock_guard lock(mu_);
        if (closed_) return Status::closed("the consumer is closed");
    }
    return core_->check_open();
}

Status Consumer::Impl::check_open_locked() const {
    if (closed_) return Status::closed("the consumer is closed");
    return core_->check_open();
}

AssignedPartition* Consumer::Impl::find_locked(const TopicPartition& tp) {
    return find_in(assigned_, tp);
}

const AssignedPartition* Consumer::Impl::find_locked(const TopicPartition& tp) const {
    return find_in(assigned_, tp);
}

}  // namespace brook

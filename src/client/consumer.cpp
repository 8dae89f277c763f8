// Consumer::Impl: manual assignment, serving the assigned partitions, and blocking polls.
//
// Each assigned partition is read by PartitionFetch (client/partition_fetch.hpp): its position,
// its buffered read decoded batch by batch into Messages that view the read (no record is
// copied on its way from the file to the caller), auto.offset.reset. poll() serves the
// partitions round-robin, one message per call, starting after the partition served last, so
// a busy partition cannot starve the others; consume() does the same, except that a partition
// assigned alone hands out as much of its reads as asked for at once, each batch that fits
// decoded straight into the result. A partition that returned an error is skipped until
// seek() moves it. When no partition has data, poll() waits on the store's change version,
// which every append in this process bumps.
//
// With group.id, a GroupClient (client/group_client.hpp) does the group's work at the start
// of each poll and changes the assignment through the Host interface this Impl implements.
//
// Locking: mu_ guards the assignment. It is held while reading a log but never while waiting
// or running a rebalance callback, so close() from another thread waits at most for one read
// and callbacks may call back into the consumer.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <brook/consumer.hpp>
#include <mutex>
#include <regex>

#include "client/consumer_config.hpp"
#include "client/group_client.hpp"
#include "client/partition_fetch.hpp"
#include "store/store_core.hpp"
#include "util/deadline.hpp"

namespace brook {
namespace {

using client::AssignedPartition;
using client::name_of;
using SteadyClock = std::chrono::steady_clock;

// The entry of `assigned` (const or not) for `tp`, or null.
template <typename Vector>
auto* find_in(Vector& assigned, const TopicPartition& tp) {
    auto it = std::find_if(assigned.begin(), assigned.end(),
                           [&](const AssignedPartition& p) { return p.tp == tp; });
    return it == assigned.end() ? nullptr : &*it;
}

}  // namespace

class Consumer::Impl final : public client::GroupClient::Host {
  public:
    Impl(std::shared_ptr<detail::StoreCore> core, client::ConsumerConfig config)
        : core_(std::move(core)), config_(std::move(config)) {}

    // Joins the group when group.id is set. `self` is the Consumer that callbacks receive.
    Status init(Consumer& self) {
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

    Status assign(const std::vector<TopicPartitionOffset>& partitions) {
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

    Status unassign() {
        if (group_ && group_->subscribed()) {
            return Status::invalid_argument(
                "unassign() cannot be used while subscribed to a group; unsubscribe() instead");
        }
        std::lock_guard lock(mu_);
        BROOK_RETURN_IF_ERROR(check_open_locked());
        assigned_.clear();
        return Status::ok();
    }

    std::vector<TopicPartition> assignment() const {
        std::lock_guard lock(mu_);
        std::vector<TopicPartition> out;
        for (const auto& p : assigned_) out.push_back(p.tp);
        return out;
    }

    Status seek(const TopicPartitionOffset& target) {
        std::lock_guard lock(mu_);
        BROOK_RETURN_IF_ERROR(check_open_locked());
        AssignedPartition* p = find_locked({target.topic, target.partition});
        if (p == nullptr) {
            return Status::invalid_argument(
                fmt::format("seek: {} is not assigned", name_of({target.topic, target.partition})));
        }
        BROOK_ASSIGN_OR_RETURN(p->position, fetch_.resolve_start(*p, target.offset));
        p->buffered.clear();
        p->errored = false;
        return Status::ok();
    }

    Result<std::vector<TopicPartitionOffset>> position(
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

    // Pauses or resumes every partition in `partitions`, or none if one is not assigned.
    Status set_paused(const std::vector<TopicPartition>& partitions, bool paused) {
        std::lock_guard lock(mu_);
        BROOK_RETURN_IF_ERROR(check_open_locked());
        std::vector<AssignedPartition*> found;
        for (const auto& tp : partitions) {
            AssignedPartition* p = find_locked(tp);
            if (p == nullptr) {
                return Status::invalid_argument(fmt::format(
                    "{}: {} is not assigned", paused ? "pause" : "resume", name_of(tp)));
            }
            found.push_back(p);
        }
        for (AssignedPartition* p : found) p->paused = paused;
        return Status::ok();
    }

    Result<WatermarkOffsets> get_watermark_offsets(const TopicPartition& tp) const {
        BROOK_RETURN_IF_ERROR(check_open());
        BROOK_ASSIGN_OR_RETURN(auto state, core_->partition(tp.topic, tp.partition));
        return WatermarkOffsets{state->log->log_start_offset(), fetch_.end_offset(*state)};
    }

    Result<std::vector<TopicPartitionOffset>> offsets_for_times(
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

    std::optional<Message> poll(std::chrono::milliseconds timeout) {
        polled_.clear();
        take_waiting(polled_, 1, timeout);
        if (polled_.empty()) return std::nullopt;
        return std::move(polled_.front());
    }

    std::vector<Message> consume(std::size_t max_messages, std::chrono::milliseconds timeout) {
        std::vector<Message> out;
        if (max_messages > 0) take_waiting(out, max_messages, timeout);
        return out;
    }

    void wakeup() {
        wakeup_.store(true);
        core_->notify_change();
    }

    Status subscribe(const group::Subscription& subscription,
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
        if (!subscription.pattern.empty()) {
            try {
                std::regex check(subscription.pattern, std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                return Status::invalid_argument(fmt::format(
                    "subscribe_pattern: '{}' is not a valid ECMAScript regex ({})",
                    subscription.pattern, e.what()));
            }
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

    Status unsubscribe() {
        BROOK_RETURN_IF_ERROR(check_open());
        if (group_) group_->leave(*this, true);
        return Status::ok();
    }

    std::string member_id() const { return group_ ? group_->member_id() : std::string(); }

    Result<ConsumerGroupMetadata> group_metadata() const {
        BROOK_RETURN_IF_ERROR(check_group("group_metadata"));
        return ConsumerGroupMetadata{config_.group_id, group_->generation(), group_->member_id(),
                                     config_.group.member.instance_id};
    }

    Status commit(std::optional<std::vector<TopicPartitionOffset>> offsets) {
        BROOK_RETURN_IF_ERROR(check_group("commit"));
        return group_->commit(offsets ? *offsets : consumed(owned()));
    }

    void commit_async(std::optional<std::vector<TopicPartitionOffset>> offsets,
                      CommitCallback callback) {
        if (Status usable = check_group("commit_async"); !usable) {
            if (callback) callback(usable, offsets.value_or(std::vector<TopicPartitionOffset>{}));
            return;
        }
        group_->commit_async(offsets ? std::move(*offsets) : consumed(owned()),
                             std::move(callback));
    }

    Result<std::vector<TopicPartitionOffset>> committed(
        const std::vector<TopicPartition>& partitions) const {
        BROOK_RETURN_IF_ERROR(check_group("committed"));
        return group_->committed(partitions);
    }

    Status close() {
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

    // ---- GroupClient::Host -----------------------------------------------------------------

    std::vector<TopicPartition> owned() override {
        std::lock_guard lock(mu_);
        std::vector<TopicPartition> out;
        for (const auto& p : assigned_) out.push_back(p.tp);
        return out;
    }

    std::vector<TopicPartitionOffset> consumed(
        const std::vector<TopicPartition>& partitions) override {
        std::lock_guard lock(mu_);
        std::vector<TopicPartitionOffset> out;
        for (const auto& tp : partitions) {
            const AssignedPartition* p = find_locked(tp);
            if (p && p->position >= Offset(0)) out.push_back({tp.topic, tp.partition, p->position});
        }
        return out;
    }

    void add(const std::vector<TopicPartitionOffset>& partitions) override {
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

    void remove(const std::vector<TopicPartition>& partitions) override {
        std::lock_guard lock(mu_);
        std::erase_if(assigned_, [&](const AssignedPartition& p) {
            return std::find(partitions.begin(), partitions.end(), p.tp) != partitions.end();
        });
        next_index_ = 0;
    }

    void assigned(const std::vector<TopicPartition>& partitions) override {
        if (listener_) listener_->on_partitions_assigned(*self_, partitions);
    }
    void revoked(const std::vector<TopicPartition>& partitions) override {
        if (listener_) listener_->on_partitions_revoked(*self_, partitions);
    }
    void lost(const std::vector<TopicPartition>& partitions) override {
        if (listener_) listener_->on_partitions_lost(*self_, partitions);
    }

  private:
    bool is_closed() const {
        std::lock_guard lock(mu_);
        return closed_;
    }

    std::chrono::milliseconds heartbeat_interval() const {
        const std::int64_t third = config_.group.member.max_poll_interval_ms / 3;
        return std::chrono::milliseconds(std::clamp<std::int64_t>(third, 1, 1000));
    }

    Status check_group(std::string_view op) const {
        BROOK_RETURN_IF_ERROR(check_open());
        if (group_) return Status::ok();
        return Status::invalid_argument(fmt::format(
            "{}() needs the consumer config group.id: offsets are committed for a group", op));
    }

    Status check_open() const {
        {
            std::lock_guard lock(mu_);
            if (closed_) return Status::closed("the consumer is closed");
        }
        return core_->check_open();
    }

    Status check_open_locked() const {
        if (closed_) return Status::closed("the consumer is closed");
        return core_->check_open();
    }

    AssignedPartition* find_locked(const TopicPartition& tp) { return find_in(assigned_, tp); }
    const AssignedPartition* find_locked(const TopicPartition& tp) const {
        return find_in(assigned_, tp);
    }

    // Appends up to `max` messages to the empty `out`, waiting until `timeout` for the first:
    // what poll() and consume() do. After an error message it appends nothing more.
    void take_waiting(std::vector<Message>& out, std::size_t max,
                      std::chrono::milliseconds timeout) {
        // The Messages this thread dropped since its last poll give their reads back now.
        detail::flush_deferred_release();
        const auto deadline = util::deadline_after(timeout);
        for (;;) {
            if (wakeup_.exchange(false)) return;
            // Read the version before looking for data: an append (or a group change) after
            // the look bumps it, so the wait below cannot miss it.
            const std::uint64_t seen = core_->change_version();
            if (group_ && !is_closed()) {
                if (Status stepped = group_->step(*this); !stepped) {
                    out.push_back(Message::from_error(std::move(stepped)));
                    return;
                }
            }
            {
                std::lock_guard lock(mu_);
                if (closed_) return;
                reserve_locked(out, max);
                if (next_locked(out, max)) {
                    wakeup_.store(false);
                    while (out.size() < max && out.back().error() != Code::closed &&
                           next_locked(out, max)) {
                    }
                    return;
                }
            }
            const auto now = SteadyClock::now();
            if (now >= deadline) return;
            // No append in this process signals a read-only store's writer, so re-check
            // every fetch.wait.max.ms.
            auto until = core_->read_only()
                             ? std::min(deadline, util::deadline_after(config_.fetch_wait_max))
                             : deadline;
            // A group member inside a long poll is still polling, as in Kafka: it reports so
            // to the group well within max.poll.interval.ms.
            if (group_ && group_->subscribed()) {
                until = std::min(until, util::deadline_after(heartbeat_interval()));
            }
            core_->wait_for_change(seen, until, wakeup_, spin_);
        }
    }

    // Makes room in `out` for up to `max` messages: as many as there are offsets from each
    // partition's position to its end (and one for an error), so that reads are decoded into
    // it without moving it.
    void reserve_locked(std::vector<Message>& out, std::size_t max) const {
        std::size_t backlog = 1;
        for (const AssignedPartition& p : assigned_) {
            if (p.paused || p.errored || p.position < Offset(0)) continue;
            const std::int64_t ahead = fetch_.end_offset(*p.state) - p.position;
            if (ahead > 0) backlog += static_cast<std::size_t>(ahead);
            if (backlog >= max) break;
        }
        out.reserve(std::min(max, backlog));
    }

    // Appends the next messages to `out`, up to `max` in all, serving partitions round-robin
    // one message at a time; a partition assigned alone hands out what it has read in one go.
    // After an error message it appends nothing more. @return false if none has one now.
    bool next_locked(std::vector<Message>& out, std::size_t max) {
        if (Status open = core_->check_open(); !open) {
            out.push_back(Message::from_error(std::move(open)));
            return true;
        }
        const std::size_t n = assigned_.size();
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t index = (next_index_ + i) % n;
            AssignedPartition& p = assigned_[index];
            if (p.paused || p.errored) continue;
            if (!fetch_.take(p, out, n == 1 ? max : out.size() + 1)) continue;
            if (p.deleted) {
                // The partition after the dropped one moves into its slot.
                assigned_.erase(assigned_.begin() + static_cast<std::ptrdiff_t>(index));
                next_index_ = index;
            } else {
                next_index_ = index + 1;
            }
            return true;
        }
        return false;
    }

    const std::shared_ptr<detail::StoreCore> core_;
    const client::ConsumerConfig config_;
    Consumer* self_ = nullptr;
    std::unique_ptr<client::GroupClient> group_;  // with group.id; used by the polling thread
    std::shared_ptr<RebalanceListener> listener_;
    std::atomic<bool> wakeup_{false};
    client::PartitionFetch fetch_{config_};  // take() under mu_
    store::SpinBudget spin_;  // used by the thread in poll()
    // poll()'s message on its way out, kept for its capacity; used by the thread in poll().
    std::vector<Message> polled_;

    mutable std::mutex mu_;  // guards the fields below
    bool closed_ = false;
    std::vector<AssignedPartition> assigned_;
    std::size_t next_index_ = 0;  // where the next round-robin pass starts
};

Result<std::unique_ptr<Consumer>> Consumer::create(const Store& store, const Config& config) {
    BROOK_RETURN_IF_ERROR(store.core()->check_open());
    BROOK_ASSIGN_OR_RETURN(auto parsed, client::parse_consumer_config(config));
    auto impl = std::make_unique<Impl>(store.core(), std::move(parsed));
    Impl& raw = *impl;
    std::unique_ptr<Consumer> consumer(new Consumer(std::move(impl)));
    BROOK_RETURN_IF_ERROR(raw.init(*consumer));
    return consumer;
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
// Destruction leaves the group as close() does, while the Consumer is still whole for the
// rebalance listener.
Consumer::~Consumer() {
    impl_->close().ignore();
}

Status Consumer::assign(const std::vector<TopicPartitionOffset>& partitions) {
    return impl_->assign(partitions);
}
Status Consumer::unassign() {
    return impl_->unassign();
}
std::vector<TopicPartition> Consumer::assignment() const {
    return impl_->assignment();
}
Status Consumer::seek(const TopicPartitionOffset& position) {
    return impl_->seek(position);
}
Result<std::vector<TopicPartitionOffset>> Consumer::position(
    const std::vector<TopicPartition>& partitions) const {
    return impl_->position(partitions);
}
Status Consumer::pause(const std::vector<TopicPartition>& partitions) {
    return impl_->set_paused(partitions, true);
}
Status Consumer::resume(const std::vector<TopicPartition>& partitions) {
    return impl_->set_paused(partitions, false);
}
Result<WatermarkOffsets> Consumer::get_watermark_offsets(const TopicPartition& partition) const {
    return impl_->get_watermark_offsets(partition);
}
Result<std::vector<TopicPartitionOffset>> Consumer::offsets_for_times(
    const std::vector<TopicPartitionTimestamp>& query) const {
    return impl_->offsets_for_times(query);
}
std::optional<Message> Consumer::poll(std::chrono::milliseconds timeout) {
    return impl_->poll(timeout);
}
std::vector<Message> Consumer::consume(std::size_t max_messages,
                                       std::chrono::milliseconds timeout) {
    return impl_->consume(max_messages, timeout);
}
void Consumer::wakeup() {
    impl_->wakeup();
}
Status Consumer::subscribe(const std::vector<std::string>& topics,
                           std::shared_ptr<RebalanceListener> listener) {
    return impl_->subscribe(group::Subscription{topics, {}}, std::move(listener));
}
Status Consumer::subscribe_pattern(std::string_view pattern,
                                   std::shared_ptr<RebalanceListener> listener) {
    if (pattern.empty()) return Status::invalid_argument("subscribe_pattern: the pattern is empty");
    return impl_->subscribe(group::Subscription{{}, std::string(pattern)}, std::move(listener));
}
Status Consumer::unsubscribe() {
    return impl_->unsubscribe();
}
std::string Consumer::member_id() const {
    return impl_->member_id();
}
Result<ConsumerGroupMetadata> Consumer::group_metadata() const {
    return impl_->group_metadata();
}
Status Consumer::commit() {
    return impl_->commit(std::nullopt);
}
Status Consumer::commit(const Message& message) {
    if (!message.error().is_ok()) {
        return Status::invalid_argument("commit(message): the message carries an error, not a record");
    }
    return impl_->commit(std::vector<TopicPartitionOffset>{
        {message.topic(), message.partition(), message.offset() + 1}});
}
Status Consumer::commit(const std::vector<TopicPartitionOffset>& offsets) {
    return impl_->commit(offsets);
}
void Consumer::commit_async(CommitCallback callback) {
    impl_->commit_async(std::nullopt, std::move(callback));
}
void Consumer::commit_async(std::vector<TopicPartitionOffset> offsets, CommitCallback callback) {
    impl_->commit_async(std::move(offsets), std::move(callback));
}
Result<std::vector<TopicPartitionOffset>> Consumer::committed(
    const std::vector<TopicPartition>& partitions) const {
    return impl_->committed(partitions);
}
Status Consumer::close() {
    return impl_->close();
}

}  // namespace brook

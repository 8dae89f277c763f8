// Consumer::Impl's polls (client/consumer_impl.hpp): poll() and consume() hand out the
// assigned partitions' messages round-robin, waiting on the store's change version when none
// has one; wakeup() ends a wait early.
//
// Locking: a poll holds mu_ only while it looks for messages (reading a log if it must), never
// while it waits or while the group client steps and runs the rebalance callbacks.
#include <algorithm>
#include <cstdint>

#include "client/consumer_impl.hpp"
#include "util/deadline.hpp"

namespace brook {
namespace {

using client::AssignedPartition;
using SteadyClock = std::chrono::steady_clock;

}  // namespace

std::optional<Message> Consumer::Impl::poll(std::chrono::milliseconds timeout) {
    polled_.clear();
    take_waiting(polled_, 1, timeout);
    if (polled_.empty()) return std::nullopt;
    return std::move(polled_.front());
}

std::vector<Message> Consumer::Impl::consume(std::size_t max_messages,
                                             std::chrono::milliseconds timeout) {
    std::vector<Message> out;
    consume(out, max_messages, timeout);
    return out;
}

std::size_t Consumer::Impl::consume(std::vector<Message>& out, std::size_t max_messages,
                                    std::chrono::milliseconds timeout) {
    out.clear();
    if (max_messages > 0) take_waiting(out, max_messages, timeout);
    return out.size();
}

void Consumer::Impl::wakeup() {
    wakeup_.store(true);
    core_->notify_change();
}

void Consumer::Impl::take_waiting(std::vector<Message>& out, std::size_t max,
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

void Consumer::Impl::reserve_locked(std::vector<Message>& out, std::size_t max) const {
    std::size_t backlog = 1;
    for (const AssignedPartition& p : assigned_) {
        if (p.paused || p.errored || p.position < Offset(0)) continue;
        const std::int64_t ahead = fetch_.end_offset(*p.state) - p.position;
        if (ahead > 0) backlog += static_cast<std::size_t>(ahead);
        if (backlog >= max) break;
    }
    out.reserve(std::min(max, backlog));
}

bool Consumer::Impl::next_locked(std::vector<Message>& out, std::size_t max) {
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

std::chrono::milliseconds Consumer::Impl::heartbeat_interval() const {
    const std::int64_t third = config_.group.member.max_poll_interval_ms / 3;
    return std::chrono::milliseconds(std::clamp<std::int64_t>(third, 1, 1000));
}

}  // namespace brook

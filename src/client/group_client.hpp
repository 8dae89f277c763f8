// GroupClient: a Consumer's side of its consumer group: membership, rebalances and commits.
//
// The consumer owns one GroupClient when group.id is set. subscribe() joins the group (or
// changes the subscription); step(), called at the start of every poll, heartbeats, takes
// part in rebalances and runs auto-commit. What the client does to the consumer's partitions
// and which listener callbacks run goes through the Host interface, so callbacks run on the
// polling thread, with no lock of the consumer held, in Kafka's order: a partition is
// committed (with enable.auto.commit) and reported revoked before the group can give it to
// another member, and partitions are added before on_partitions_assigned reports them, so a
// callback may seek() them.
//
// Without subscribe() (manual assignment), commits are accepted only while the group has no
// members.
//
// Thread safety: used by the consumer's thread only, like the Consumer itself.
#pragma once

#include <brook/consumer.hpp>
#include <brook/message.hpp>
#include <brook/status.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "group/group.hpp"

namespace brook::detail {
class StoreCore;
}

namespace brook::client {

struct GroupClientConfig {
    group::MemberOptions member;  // its subscription is set by subscribe()
    bool enable_auto_commit = true;
    std::int64_t auto_commit_interval_ms = 5000;
};

class GroupClient {
  public:
    // What the client needs from its consumer.
    class Host {
      public:
        virtual ~Host() = default;
        virtual std::vector<TopicPartition> owned() = 0;
        // The consumed position (next offset) of each of `partitions` whose position is known.
        virtual std::vector<TopicPartitionOffset> consumed(
            const std::vector<TopicPartition>& partitions) = 0;
        virtual void add(const std::vector<TopicPartitionOffset>& partitions) = 0;
        virtual void remove(const std::vector<TopicPartition>& partitions) = 0;
        virtual void assigned(const std::vector<TopicPartition>& partitions) = 0;
        virtual void revoked(const std::vector<TopicPartition>& partitions) = 0;
        virtual void lost(const std::vector<TopicPartition>& partitions) = 0;
    };

    GroupClient(std::shared_ptr<detail::StoreCore> core, std::shared_ptr<group::Group> group,
                GroupClientConfig config);

    bool subscribed() const noexcept { return !member_id_.empty(); }
    const std::string& member_id() const noexcept { return member_id_; }
    std::int32_t generation() const noexcept { return generation_; }

    // Joins with `subscription`, or changes the subscription of a member.
    // @return invalid_argument (no shared assignment strategy); fenced.
    Status subscribe(const group::Subscription& subscription);

    // Commits (with auto-commit), revokes everything and leaves. A static member keeps its
    // identity for session.timeout.ms unless `permanent`.
    void leave(Host& host, bool permanent);

    // One heartbeat: async commits, rebalance work, the auto-commit timer.
    // @return an error that stops the member from rejoining (closed, ...).
    Status step(Host& host);

    // Commits `offsets` now. @return fenced; closed; the offset table's errors.
    Status commit(const std::vector<TopicPartitionOffset>& offsets);
    // Queues a commit, written at the next step(), commit() or leave(); `done` runs then.
    void commit_async(std::vector<TopicPartitionOffset> offsets, CommitCallback done);

    Result<std::vector<TopicPartitionOffset>> committed(
        const std::vector<TopicPartition>& partitions) const;

  private:
    void flush_async();
    // Auto-commits `partitions`' positions if enable.auto.commit is set.
    void auto_commit(Host& host, const std::vector<TopicPartition>& partitions);
    void give_up(Host& host, const std::vector<TopicPartition>& partitions);

    const std::shared_ptr<detail::StoreCore> core_;
    std::shared_ptr<group::Group> group_;  // looked up again at each join
    GroupClientConfig config_;
    std::string member_id_;
    std::int32_t generation_ = -1;
    std::int64_t next_auto_commit_ms_ = 0;
    struct PendingCommit {
        std::vector<TopicPartitionOffset> offsets;
        CommitCallback done;
    };
    std::vector<PendingCommit> pending_;
};

}  // namespace brook::client

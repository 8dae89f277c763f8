// Group: the coordinator of one consumer group inside the store.
//
// A group has members (consumers that called subscribe), a generation, and an owner for each
// partition a member currently holds. Every membership change (join, leave, removal after
// max.poll.interval.ms, a subscription change, or new partitions or topics for the
// subscriptions) starts a rebalance. The rebalance completes, bumping the generation and
// computing each member's target with the assignor, once every member has rejoined; a member
// rejoins inside its poll(). A departed static member counts as rejoined.
//
// Handover is what keeps two members from ever owning one partition: a partition goes to its
// new owner (is "granted") only once its previous owner released it, after committing. With
// the eager protocol (range, roundrobin) a member releases everything when it rejoins; with
// the cooperative one it keeps its partitions and releases only those its target lost.
//
// A commit is accepted only from a current member for partitions it owns, checked under the
// group's mutex together with the write, so a commit can never move a partition another
// member owns.
//
// Ownership: the GroupRegistry owns its groups; consumers hold a shared_ptr. Thread safety:
// every method may be called from any thread; each runs under the group's mutex.
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "group/assignor.hpp"
#include "group/offset_table.hpp"
#include "util/topic_pattern.hpp"

namespace brook::group {

class GroupRegistry;

struct Subscription {
    std::vector<std::string> topics;  // used when pattern is empty
    util::TopicPattern pattern;       // matches whole topic names; used when not empty
};

struct MemberOptions {
    std::string client_id;
    std::optional<std::string> instance_id;  // group.instance.id
    std::vector<Strategy> strategies;
    std::int64_t max_poll_interval_ms = 300'000;
    std::int64_t session_timeout_ms = 45'000;
    Subscription subscription;
};

// What a member must do next, from sync().
struct SyncResult {
    // The member is not in the group (removed after max.poll.interval.ms, say). It lost what
    // it held and must join again. `reason` says why.
    bool removed = false;
    std::string reason;
    // Removed because a newer consumer took over its group.instance.id: it must not rejoin.
    bool replaced = false;
    // A rebalance waits for this member: commit, release per the protocol, then rejoin().
    bool rejoin = false;
    std::int32_t generation = 0;
    // True once per generation: the member's first sync after a rebalance completed.
    bool new_generation = false;
    std::vector<TopicPartition> revoke;   // commit, then release() these
    std::vector<TopicPartition> granted;  // now owned by the member
};

enum class GroupState : std::uint8_t { empty, preparing_rebalance, stable };

struct MemberSnapshot {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::vector<TopicPartition> owned;
};

struct GroupSnapshot {
    GroupState state = GroupState::empty;
    std::int32_t generation = 0;
    std::string protocol;  // the chosen assignor's name, "" when empty
    std::vector<MemberSnapshot> members;
};

class Group {
  public:
    Group(std::string id, GroupRegistry& registry) : id_(std::move(id)), registry_(registry) {}

    const std::string& id() const noexcept { return id_; }

    // Adds a member, or, for a static member whose instance id is known and still within
    // session.timeout.ms, hands it the departed member's identity without a rebalance.
    // @return the member id; invalid_argument if no strategy is shared with the other members,
    //         or if a live member already uses the instance id (fenced).
    Result<std::string> join(const MemberOptions& options, std::int64_t now_ms);

    // Heartbeat and progress: records a poll at `now_ms`, removes members whose poll is
    // overdue, notices topic changes, and says what the member must do.
    SyncResult sync(const std::string& member_id, std::int64_t now_ms);

    // The member has done what a rebalance needs of it; with the eager protocol it released
    // everything. @return fenced if it is no longer a member.
    Status rejoin(const std::string& member_id);

    // The member gives up `partitions` (after committing them).
    void release(const std::string& member_id, const std::vector<TopicPartition>& partitions);

    // Changes the member's subscription, which starts a rebalance.
    Status resubscribe(const std::string& member_id, const Subscription& subscription);

    // The member leaves. A static member's identity and partitions are kept for
    // session.timeout.ms, unless `permanent`.
    void leave(const std::string& member_id, std::int64_t now_ms, bool permanent);

    // Commits offsets for `member_id`, or, when it is empty, for a consumer outside the
    // membership (manual assignment), which the group accepts only while it has no members.
    // @return fenced if the member was removed or does not own a partition; the table's errors.
    Status commit(const std::string& member_id, const std::vector<TopicPartitionOffset>& offsets,
                  std::int64_t now_ms);

    // The checks of commit() without the write, plus the generation, for offsets sent with a
    // transaction (Kafka's TxnOffsetCommit). @return fenced; not_found (topic or partition).
    Status check_commit(const std::string& member_id, std::int32_t generation,
                        const std::vector<TopicPartitionOffset>& offsets, std::int64_t now_ms);

    GroupSnapshot snapshot(std::int64_t now_ms);

    // Runs `action` under the group's mutex if the group has no members.
    // @return busy naming the members, or action's status.
    template <typename Action>
    Status if_empty(std::int64_t now_ms, Action&& action) {
        std::lock_guard lock(mu_);
        expire_locked(now_ms);
        if (!members_.empty()) return busy_locked();
        return action();
    }

  private:
    struct Member {
        MemberOptions options;
        std::set<TopicPartition> owned;
        std::set<TopicPartition> target;
        std::int32_t generation = -1;  // the last generation this member synced
        bool joined = false;           // rejoined for the rebalance being prepared
        std::int64_t last_poll_ms = 0;
        std::optional<std::int64_t> departed_ms;  // a static member that closed
    };

    void expire_locked(std::int64_t now_ms);
    void remove_locked(const std::string& member_id, std::string reason);
    std::string removal_reason_locked(const std::string& member_id) const;
    void start_rebalance_locked();
    void try_complete_locked();
    void release_locked(Member& member, const std::vector<TopicPartition>& partitions);
    // The topics a member subscribes to that exist, with the partition counts of all topics.
    std::vector<std::string> resolve_locked(const Subscription& s, const PartitionCounts& counts);
    bool topics_changed_locked();
    Status busy_locked() const;
    Status check_commit_locked(const std::string& member_id,
                               const std::vector<TopicPartitionOffset>& offsets) const;

    const std::string id_;
    GroupRegistry& registry_;

    std::mutex mu_;  // guards the fields below
    std::map<std::string, Member> members_;
    std::map<TopicPartition, std::string> owner_;
    struct Removal {
        std::string reason;
        bool replaced = false;
    };
    std::map<std::string, Removal> removed_;  // member id -> why it was removed
    std::int32_t generation_ = 0;
    bool preparing_ = false;
    Strategy strategy_ = Strategy::range;
    PartitionCounts counts_;  // the subscribed topics' partition counts at the last assignment
    std::uint64_t topology_seen_ = 0;
    std::uint64_t next_member_ = 0;
};

}  // namespace brook::group

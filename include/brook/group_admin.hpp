// GroupAdmin: inspect and manage a store's consumer groups, as kafka-consumer-groups does.
//
// A group exists while it has members or committed offsets. list_groups() and
// describe_group() show both; describe_group() gives each partition's committed offset, log
// end offset and lag (log end offset minus committed offset), read from memory and the offset
// table without scanning any log. reset_offsets() and delete_group() change committed offsets
// and are refused with `busy` while the group has members, as Kafka refuses them for an
// active group.
//
// Ownership: a GroupAdmin keeps the store's shared state alive; after Store::close() its calls
// return closed. Thread safety: every method may be called from any thread at once.
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <brook/store.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brook {

enum class GroupState : std::uint8_t {
    empty,                // no members; only committed offsets
    preparing_rebalance,  // a membership change waits for members to rejoin in poll()
    stable,               // every member has its assignment
};

struct GroupListing {
    std::string group_id{};
    GroupState state = GroupState::empty;
    std::size_t members = 0;
};

struct GroupMemberDescription {
    std::string member_id{};
    std::optional<std::string> group_instance_id{};
    std::string client_id{};
    std::vector<TopicPartition> assignment{};  // the partitions it owns now
};

struct PartitionLag {
    std::string topic{};
    PartitionId partition{};
    std::optional<Offset> committed{};  // none when the group never committed this partition
    Offset log_end_offset{};
    // The first offset of the oldest open transaction, or log_end_offset when none is open.
    Offset last_stable_offset{};
    // log_end_offset - committed when committed (last_stable_offset - committed for a
    // read_committed description), never below 0.
    std::optional<std::int64_t> lag{};
};

struct GroupDescription {
    std::string group_id{};
    GroupState state = GroupState::empty;
    std::int32_t generation = 0;
    std::string protocol{};  // the assignment strategy in use, "" when empty
    std::vector<GroupMemberDescription> members{};
    // Every partition with a committed offset or an owner, sorted by topic and partition.
    std::vector<PartitionLag> partitions{};
    std::int64_t total_lag = 0;  // the sum of the known lags
};

// Where reset_offsets() moves a group's committed offsets.
struct OffsetResetSpec {
    enum class Kind : std::uint8_t { earliest, latest, offset, timestamp };
    Kind kind = Kind::earliest;
    // For offset: the offset, clamped to [log start, log end] per partition. For timestamp:
    // milliseconds since the epoch; each partition goes to its first record at or after it,
    // or to its log end.
    std::int64_t value = 0;

    static OffsetResetSpec earliest() { return {Kind::earliest, 0}; }
    static OffsetResetSpec latest() { return {Kind::latest, 0}; }
    static OffsetResetSpec to_offset(std::int64_t offset) { return {Kind::offset, offset}; }
    static OffsetResetSpec to_timestamp(std::int64_t ms) { return {Kind::timestamp, ms}; }
};

class GroupAdmin {
  public:
    explicit GroupAdmin(const Store& store);

    // Every group with members or committed offsets, sorted by id. @return closed; corruption.
    Result<std::vector<GroupListing>> list_groups() const;

    // With IsolationLevel::read_committed, lag is measured against the last stable offset, as
    // for consumers with isolation.level=read_committed.
    // @return not_found if the group has neither members nor committed offsets; closed.
    Result<GroupDescription> describe_group(
        std::string_view group_id,
        IsolationLevel isolation = IsolationLevel::read_uncommitted) const;

    // Sets the group's committed offset of every partition of `topic`.
    // @return the new offsets; busy while the group has members; not_found (topic);
    //         invalid_argument (bad group id or offset); closed; no_space, io_error.
    Result<std::vector<TopicPartitionOffset>> reset_offsets(std::string_view group_id,
                                                            std::string_view topic,
                                                            const OffsetResetSpec& to);

    // Removes the group and its committed offsets.
    // @return busy while the group has members; not_found if there is no such group; closed.
    Status delete_group(std::string_view group_id);

  private:
    std::shared_ptr<detail::StoreCore> core_;
};

}  // namespace brook

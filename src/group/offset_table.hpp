// OffsetTable: consumer groups' committed offsets, kept in the metadata store.
//
// Each (group, topic, partition) has at most one committed offset, the next offset the group
// will read. A commit of several partitions is one metadata transaction: it is durable (LMDB
// fsyncs before returning) and either all of it lands or none, so a failed commit, for example
// when the disk is full, leaves every previous offset as it was. The layout is in
// group/offset_format.hpp.
//
// The table checks names and decodes records; it knows nothing of members or ownership, which
// the Group checks before calling commit().
//
// Ownership: the table borrows the MetaStore, which must outlive it. Thread safety: any thread,
// as the MetaStore's calls are.
// Errors: invalid_argument (bad group id); corruption (a damaged record, naming its key);
// and the MetaStore's errors (no_space, io_error, ...).
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "meta/meta_store.hpp"

namespace brook::group {

struct CommittedOffset {
    Offset offset{};
    std::int64_t commit_time_ms = 0;

    friend bool operator==(const CommittedOffset&, const CommittedOffset&) = default;
};

// @return invalid_argument unless `group_id` is 1 to format::kMaxGroupIdBytes bytes with no
//         0x00 byte.
Status validate_group_id(std::string_view group_id);

class OffsetTable {
  public:
    explicit OffsetTable(meta::MetaStore& meta) : meta_(meta) {}

    // Stores `offsets` (each >= 0) for `group_id` in one transaction, stamped `now_ms`.
    // @return invalid_argument for a negative offset or a bad name, before writing anything.
    Status commit(std::string_view group_id, std::span<const TopicPartitionOffset> offsets,
                  std::int64_t now_ms);

    // The committed offset of one partition, or nullopt.
    Result<std::optional<CommittedOffset>> fetch(std::string_view group_id,
                                                 const TopicPartition& partition);

    // Every committed offset of the group.
    Result<std::map<TopicPartition, CommittedOffset>> fetch_all(std::string_view group_id);

    // The ids of groups with at least one committed offset, sorted.
    Result<std::vector<std::string>> groups();

    // Removes every offset of the group (of one topic, when `topic` is given), atomically.
    Status remove(std::string_view group_id, std::optional<std::string_view> topic = {});

    // Removes every group's offsets of `topic`, atomically (when the topic is deleted).
    Status remove_topic(std::string_view topic);

  private:
    meta::MetaStore& meta_;
};

}  // namespace brook::group

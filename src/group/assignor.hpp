// Partition assignors: how a group's partitions are split between its members.
//
// Each follows the behaviour Kafka documents for the assignor of the same name:
//   range               per topic, the subscribed members in order of their sort key each get
//                       a contiguous range; the first (partitions mod members) get one more.
//   roundrobin          all subscribed partitions, sorted by topic and number, dealt one at a
//                       time to the members in order, skipping members not subscribed to the
//                       partition's topic.
//   cooperative-sticky  balanced (counts differ by at most one where subscriptions allow), and
//                       each member keeps as many of the partitions it owns as balance allows.
//                       The group hands a moved partition over only after its owner revokes it.
//
// Pure functions over plain values; safe from any thread.
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace brook::group {

// partition.assignment.strategy values.
enum class Strategy : std::uint8_t { range, roundrobin, cooperative_sticky };

std::string_view strategy_name(Strategy strategy) noexcept;

// Parses a comma-separated list such as "range,cooperative-sticky" (spaces around names are
// ignored). @return invalid_argument naming an unknown or repeated strategy, or an empty list.
Result<std::vector<Strategy>> parse_strategies(std::string_view text);

struct AssignorMember {
    std::string id;
    // The order members are taken in: the group.instance.id of a static member, else its id.
    std::string sort_key;
    std::vector<std::string> topics;    // subscribed topics that exist
    std::vector<TopicPartition> owned;  // what it owns now (used by cooperative-sticky)
};

// Partition counts of the topics that exist, by name.
using PartitionCounts = std::map<std::string, std::int32_t, std::less<>>;
// Each member's partitions, sorted; every member appears, possibly with none.
using Assignment = std::map<std::string, std::vector<TopicPartition>>;

Assignment assign(Strategy strategy, const std::vector<AssignorMember>& members,
                  const PartitionCounts& counts);

}  // namespace brook::group

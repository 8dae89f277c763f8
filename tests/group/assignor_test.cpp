// Tests of the assignors: Kafka's documented examples for range, roundrobin and the sticky
// assignors, then random groups checked against a brute-force model (range, roundrobin) and
// against the properties cooperative-sticky promises (valid, balanced, sticky).
#include "group/assignor.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

using namespace brook;
using namespace brook::group;

namespace {

TopicPartition tp(const std::string& topic, int p) {
    return {topic, PartitionId(p)};
}

AssignorMember member(const std::string& id, std::vector<std::string> topics,
                      std::vector<TopicPartition> owned = {}) {
    return AssignorMember{id, id, std::move(topics), std::move(owned)};
}

// Checks that every subscribed partition has exactly one owner, who subscribes to its topic.
void check_valid(const std::vector<AssignorMember>& members, const PartitionCounts& counts,
                 const Assignment& out) {
    std::map<TopicPartition, int> seen;
    for (const auto& m : members) {
        REQUIRE(out.contains(m.id));
        for (const auto& p : out.at(m.id)) {
            CHECK(std::find(m.topics.begin(), m.topics.end(), p.topic) != m.topics.end());
            ++seen[p];
        }
    }
    for (const auto& [topic, n] : counts) {
        const bool wanted = std::any_of(members.begin(), members.end(), [&](const auto& m) {
            return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
        });
        for (int p = 0; p < n; ++p) CHECK(seen[tp(topic, p)] == (wanted ? 1 : 0));
    }
}

}  // namespace

TEST_CASE("assignor: range matches Kafka's documented example") {
    // Two consumers, two topics of three partitions each (RangeAssignor javadoc).
    const PartitionCounts counts{{"t0", 3}, {"t1", 3}};
    const std::vector<AssignorMember> members{member("C0", {"t0", "t1"}),
                                              member("C1", {"t0", "t1"})};
    const Assignment out = assign(Strategy::range, members, counts);
    CHECK(out.at("C0") == std::vector{tp("t0", 0), tp("t0", 1), tp("t1", 0), tp("t1", 1)});
    CHECK(out.at("C1") == std::vector{tp("t0", 2), tp("t1", 2)});
}

TEST_CASE("assignor: roundrobin matches Kafka's documented examples") {
    const PartitionCounts same{{"t0", 3}, {"t1", 3}};
    auto out = assign(Strategy::roundrobin,
                      {member("C0", {"t0", "t1"}), member("C1", {"t0", "t1"})}, same);
    CHECK(out.at("C0") == std::vector{tp("t0", 0), tp("t0", 2), tp("t1", 1)});
    CHECK(out.at("C1") == std::vector{tp("t0", 1), tp("t1", 0), tp("t1", 2)});

    // Different subscriptions (RoundRobinAssignor javadoc).
    const PartitionCounts mixed{{"t0", 1}, {"t1", 2}, {"t2", 3}};
    out =
        assign(Strategy::roundrobin,
               {member("C0", {"t0"}), member("C1", {"t0", "t1"}), member("C2", {"t0", "t1", "t2"})},
               mixed);
    CHECK(out.at("C0") == std::vector{tp("t0", 0)});
    CHECK(out.at("C1") == std::vector{tp("t1", 0)});
    CHECK(out.at("C2") == std::vector{tp("t1", 1), tp("t2", 0), tp("t2", 1), tp("t2", 2)});
}

TEST_CASE("assignor: cooperative-sticky matches Kafka's documented StickyAssignor examples") {
    // Example 1: three consumers, four topics of two partitions; then C1 leaves.
    const PartitionCounts counts{{"t0", 2}, {"t1", 2}, {"t2", 2}, {"t3", 2}};
    const std::vector<std::string> all{"t0", "t1", "t2", "t3"};
    auto out = assign(Strategy::cooperative_sticky,
                      {member("C0", all), member("C1", all), member("C2", all)}, counts);
    CHECK(out.at("C0") == std::vector{tp("t0", 0), tp("t1", 1), tp("t3", 0)});
    CHECK(out.at("C1") == std::vector{tp("t0", 1), tp("t2", 0), tp("t3", 1)});
    CHECK(out.at("C2") == std::vector{tp("t1", 0), tp("t2", 1)});
    out = assign(Strategy::cooperative_sticky,
                 {member("C0", all, out.at("C0")), member("C2", all, out.at("C2"))}, counts);
    // Kafka: C0 [t0p0, t1p1, t3p0, t2p0], C2 [t1p0, t2p1, t0p1, t3p1]; nobody lost anything.
    CHECK(out.at("C0") == std::vector{tp("t0", 0), tp("t1", 1), tp("t2", 0), tp("t3", 0)});
    CHECK(out.at("C2") == std::vector{tp("t0", 1), tp("t1", 0), tp("t2", 1), tp("t3", 1)});

    // Example 2: different subscriptions; sticky is balanced where roundrobin is not.
    const PartitionCounts mixed{{"t0", 1}, {"t1", 2}, {"t2", 3}};
    out =
        assign(Strategy::cooperative_sticky,
               {member("C0", {"t0"}), member("C1", {"t0", "t1"}), member("C2", {"t0", "t1", "t2"})},
               mixed);
    CHECK(out.at("C0") == std::vector{tp("t0", 0)});
    CHECK(out.at("C1") == std::vector{tp("t1", 0), tp("t1", 1)});
    CHECK(out.at("C2") == std::vector{tp("t2", 0), tp("t2", 1), tp("t2", 2)});
}

TEST_CASE("assignor: static members are ordered by group.instance.id") {
    const PartitionCounts counts{{"t", 3}};
    std::vector<AssignorMember> members{member("m-1", {"t"}), member("m-2", {"t"})};
    members[0].sort_key = "zeta";
    members[1].sort_key = "alpha";
    const auto out = assign(Strategy::range, members, counts);
    CHECK(out.at("m-2") == std::vector{tp("t", 0), tp("t", 1)});
    CHECK(out.at("m-1") == std::vector{tp("t", 2)});
}

TEST_CASE("assignor: random groups against a model, and sticky's promises") {
    std::mt19937 rng(20261126);
    for (int round = 0; round < 300; ++round) {
        CAPTURE(round);
        PartitionCounts counts;
        const int topics = 1 + static_cast<int>(rng() % 4);
        std::vector<std::string> names;
        for (int t = 0; t < topics; ++t) {
            names.push_back("t" + std::to_string(t));
            counts[names.back()] = 1 + static_cast<int>(rng() % 7);
        }
        const bool homogeneous = rng() % 2 == 0;
        std::vector<AssignorMember> members;
        const int n = 1 + static_cast<int>(rng() % 6);
        for (int i = 0; i < n; ++i) {
            std::vector<std::string> subscribed;
            for (const auto& name : names) {
                if (homogeneous || rng() % 2 == 0) subscribed.push_back(name);
            }
            if (subscribed.empty()) subscribed.push_back(names[rng() % names.size()]);
            members.push_back(member("m" + std::to_string(i), subscribed));
        }

        // Range, brute force: per topic, subscribers in id order, earlier ones get the extra.
        const auto range = assign(Strategy::range, members, counts);
        check_valid(members, counts, range);
        for (const auto& [topic, count] : counts) {
            std::vector<std::string> takers;
            for (const auto& m : members) {
                if (std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end()) {
                    takers.push_back(m.id);
                }
            }
            std::sort(takers.begin(), takers.end());
            int next = 0;
            for (std::size_t i = 0; i < takers.size(); ++i) {
                const int share = count / static_cast<int>(takers.size()) +
                                  (static_cast<int>(i) < count % static_cast<int>(takers.size()));
                for (int k = 0; k < share; ++k, ++next) {
                    const auto& got = range.at(takers[i]);
                    CHECK(std::find(got.begin(), got.end(), tp(topic, next)) != got.end());
                }
            }
        }

        // Roundrobin, homogeneous: partition k of the sorted list goes to member k mod n.
        const auto rr = assign(Strategy::roundrobin, members, counts);
        check_valid(members, counts, rr);
        if (homogeneous) {
            std::vector<TopicPartition> sorted;
            for (const auto& [topic, count] : counts) {
                for (int p = 0; p < count; ++p) sorted.push_back(tp(topic, p));
            }
            for (std::size_t k = 0; k < sorted.size(); ++k) {
                const auto& got = rr.at(members[k % members.size()].id);
                CHECK(std::find(got.begin(), got.end(), sorted[k]) != got.end());
            }
        }

        // Sticky: valid; balanced when homogeneous; after a member leaves and one joins, every
        // remaining member keeps what it had up to its new fair share.
        auto sticky = assign(Strategy::cooperative_sticky, members, counts);
        check_valid(members, counts, sticky);
        auto spread = [&](const Assignment& a) {
            std::size_t lo = SIZE_MAX, hi = 0;
            for (const auto& [id, list] : a) {
                lo = std::min(lo, list.size());
                hi = std::max(hi, list.size());
            }
            return hi - lo;
        };
        if (homogeneous) CHECK(spread(sticky) <= 1);
        std::vector<AssignorMember> next;
        for (std::size_t i = 1; i < members.size(); ++i) {
            next.push_back(members[i]);
            next.back().owned = sticky.at(members[i].id);
        }
        next.push_back(member("zz", homogeneous ? names : std::vector<std::string>{names[0]}));
        const auto after = assign(Strategy::cooperative_sticky, next, counts);
        check_valid(next, counts, after);
        if (homogeneous) {
            CHECK(spread(after) <= 1);
            std::size_t total = 0;
            for (const auto& [topic, count] : counts) total += static_cast<std::size_t>(count);
            const std::size_t floor_share = total / next.size();
            for (const auto& m : next) {
                if (m.id == "zz") continue;
                const auto& got = after.at(m.id);
                std::size_t kept = 0;
                for (const auto& p : m.owned) {
                    kept += std::find(got.begin(), got.end(), p) != got.end();
                }
                CHECK(kept >= std::min(m.owned.size(), floor_share));
            }
        }
    }
}

TEST_CASE("assignor: strategy lists parse with Kafka's names") {
    auto parsed = parse_strategies("range, cooperative-sticky");
    REQUIRE(parsed.is_ok());
    CHECK(*parsed == std::vector{Strategy::range, Strategy::cooperative_sticky});
    CHECK(parse_strategies("roundrobin")->front() == Strategy::roundrobin);
    for (const char* bad : {"", "sticky", "range,range", "range,,roundrobin"}) {
        CAPTURE(bad);
        auto refused = parse_strategies(bad);
        CHECK(refused.code() == Code::invalid_argument);
        CHECK(refused.status().message().find("partition.assignment.strategy") !=
              std::string::npos);
    }
}

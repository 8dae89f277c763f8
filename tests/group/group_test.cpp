// Tests of Group and GroupRegistry on their own, over a fake StoreView (no StoreCore): members
// driven through the protocol the consumer follows (sync, release what is revoked, rejoin),
// assignments checked against what a rebalance must give, and commits checked for the order of
// their sync and their write, and for writing nothing when refused or when a sync fails.
#include "group/group.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "group/group_registry.hpp"
#include "group/offset_table.hpp"
#include "group/store_view.hpp"
#include "meta/meta_store.hpp"

namespace brook::group {
namespace {

// A store of topics with partition counts, in memory. It records each sync_below() call with
// what the offset table held for that partition at that moment, and fails the syncs of the
// partitions in `failing_syncs`.
class FakeStore final : public StoreView {
  public:
    Status check_open() const override { return Status::ok(); }
    meta::MetaStore& meta() override { return *meta_; }
    Result<PartitionCounts> partition_counts() override { return counts; }
    Status sync_below(const TopicPartition& partition, Offset end) override {
        syncs.push_back({partition, end, committed(partition)});
        if (failing_syncs.contains(partition)) {
            return Status::error(Code::io_error, "injected fsync failure");
        }
        return Status::ok();
    }
    std::uint64_t topology_version() const override { return version; }
    void notify() override {}

    void set_partitions(const std::string& topic, std::int32_t count) {
        counts[topic] = count;
        ++version;
    }

    // The offset the table holds for the group's partition, or -1.
    std::int64_t committed(const TopicPartition& partition, const std::string& group = "g") {
        OffsetTable table(*meta_);
        auto found = table.fetch(group, partition);
        REQUIRE(found.is_ok());
        return *found ? (*found)->offset.value() : -1;
    }

    struct Sync {
        TopicPartition partition;
        Offset end;
        std::int64_t committed_then;
    };
    PartitionCounts counts;
    std::uint64_t version = 1;
    std::vector<Sync> syncs;
    std::set<TopicPartition> failing_syncs;

  private:
    std::unique_ptr<meta::MetaStore> meta_ = meta::new_memory_meta_store();
};

MemberOptions range_member(std::vector<std::string> topics) {
    MemberOptions options;
    options.strategies = {Strategy::range};
    options.subscription.topics = std::move(topics);
    return options;
}

// What each member owns, as the members were told (granted, minus what they gave up).
using Owned = std::map<std::string, std::set<TopicPartition>>;

// Drives every member as the consumer does (client/group_client.cpp) until a whole round asks
// nothing of anyone, keeping `owned` up to date, and returns it.
const Owned& settle(Group& group, const std::vector<std::string>& members, std::int64_t now_ms,
                    Owned& owned) {
    for (int round = 0; round < 20; ++round) {
        bool quiet = true;
        for (const std::string& id : members) {
            const SyncResult r = group.sync(id, now_ms);
            REQUIRE_FALSE(r.removed);
            quiet = quiet && !r.rejoin && r.revoke.empty() && r.granted.empty();
            if (r.rejoin) {
                // Eager (range): everything is given up before rejoining.
                group.release(id, {owned[id].begin(), owned[id].end()});
                owned[id].clear();
                REQUIRE(group.rejoin(id).is_ok());
                continue;
            }
            for (const auto& tp : r.revoke) owned[id].erase(tp);
            if (!r.revoke.empty()) group.release(id, r.revoke);
            for (const auto& tp : r.granted) owned[id].insert(tp);
        }
        if (quiet) return owned;
    }
    FAIL("the group did not settle in 20 rounds");
    return owned;
}

std::set<TopicPartition> partitions_of(const std::string& topic, std::int32_t count) {
    std::set<TopicPartition> out;
    for (std::int32_t p = 0; p < count; ++p) out.insert({topic, PartitionId(p)});
    return out;
}

// Each partition owned by exactly one member, every partition owned, and as evenly as range
// can: every member holds count / members or one more, in one contiguous run.
void check_range_assignment(const Owned& owned, const std::string& topic, std::int32_t count) {
    std::set<TopicPartition> all;
    for (const auto& [id, partitions] : owned) {
        const auto share = static_cast<std::int32_t>(partitions.size());
        const std::int32_t even = count / static_cast<std::int32_t>(owned.size());
        CHECK((share == even || share == even + 1));
        if (!partitions.empty()) {
            CHECK(partitions.rbegin()->partition.value() - partitions.begin()->partition.value() ==
                  share - 1);
        }
        for (const auto& tp : partitions) CHECK(all.insert(tp).second);
    }
    CHECK(all == partitions_of(topic, count));
}

// Group "g" of a store with topic "t" of two partitions, and `members` range members of it,
// settled.
struct GroupFixture {
    explicit GroupFixture(int members) {
        store.set_partitions("t", 2);
        auto got = registry.get("g");
        REQUIRE(got.is_ok());
        group = std::move(got).value();
        for (int m = 0; m < members; ++m) {
            auto id = group->join(range_member({"t"}), 0);
            REQUIRE(id.is_ok());
            ids.push_back(std::move(id).value());
        }
        settle(*group, ids, 0, owned);
    }

    FakeStore store;
    GroupRegistry registry{store};
    std::shared_ptr<Group> group;
    std::vector<std::string> ids;
    Owned owned;
};

TEST_CASE("a topic that grows rebalances the group onto every partition") {
    GroupFixture f(2);
    check_range_assignment(f.owned, "t", 2);

    f.store.set_partitions("t", 5);
    check_range_assignment(settle(*f.group, f.ids, 1, f.owned), "t", 5);
}

TEST_CASE("a commit makes each partition durable below its offset before writing the offset") {
    GroupFixture f(1);
    REQUIRE(f.owned.at(f.ids[0]) == partitions_of("t", 2));
    FakeStore& store = f.store;

    const TopicPartition p0{"t", PartitionId(0)};
    const TopicPartition p1{"t", PartitionId(1)};
    REQUIRE(f.group
                ->commit(f.ids[0],
                         {{"t", PartitionId(0), Offset(7)}, {"t", PartitionId(1), Offset(3)}}, 5)
                .is_ok());
    REQUIRE(store.syncs.size() == 2);
    CHECK(store.syncs[0].partition == p0);
    CHECK(store.syncs[0].end == Offset(7));
    CHECK(store.syncs[1].partition == p1);
    CHECK(store.syncs[1].end == Offset(3));
    for (const auto& sync : store.syncs) CHECK(sync.committed_then == -1);
    CHECK(store.committed(p0) == 7);
    CHECK(store.committed(p1) == 3);

    SUBCASE("a failed sync writes none of the commit's offsets") {
        store.failing_syncs.insert(p1);
        const Status failed = f.group->commit(
            f.ids[0], {{"t", PartitionId(0), Offset(9)}, {"t", PartitionId(1), Offset(5)}}, 6);
        CHECK(failed.code() == Code::io_error);
        CHECK(store.committed(p0) == 7);
        CHECK(store.committed(p1) == 3);
    }
}

TEST_CASE("refused commits sync nothing and write nothing") {
    GroupFixture f(2);
    const std::string& a = f.ids[0];
    const std::string& b = f.ids[1];
    REQUIRE(f.owned[a].size() == 1);
    const TopicPartition not_a = *f.owned[b].begin();

    SUBCASE("a partition the member does not own") {
        const Status refused = f.group->commit(a, {{not_a.topic, not_a.partition, Offset(4)}}, 1);
        CHECK(refused.code() == Code::fenced);
    }
    SUBCASE("a consumer outside the membership while the group has members") {
        const Status refused = f.group->commit("", {{not_a.topic, not_a.partition, Offset(4)}}, 1);
        CHECK(refused.code() == Code::fenced);
    }
    SUBCASE("a member that left") {
        f.group->leave(b, 1, false);
        const Status refused = f.group->commit(b, {{not_a.topic, not_a.partition, Offset(4)}}, 1);
        CHECK(refused.code() == Code::fenced);
    }
    CHECK(f.store.syncs.empty());
    CHECK(f.store.committed(not_a) == -1);
}

}  // namespace
}  // namespace brook::group

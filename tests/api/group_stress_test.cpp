// Stress: three groups on threads while two producers write. Group "a" has four consumer
// slots, "b" two and "c" one, each using a different assignment strategy; every slot closes
// its consumer and starts a new one at random moments, so members join and leave all the
// time. Each record is committed synchronously after it is processed. Every (group,
// partition, offset) seen is recorded and compared with the set the producers' reports name:
// each group must see every record, and since every member leaves cleanly, see it exactly
// once; at the end every group's committed offsets equal the log end offsets.
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "api_env.hpp"

using namespace brook;
using namespace brook_test;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitions = 6;
// Records per producer: fewer on disk, where every produce and commit waits for an fsync.
template <typename F>
constexpr int kPerProducer = F::on_disk ? 200 : 3000;

struct GroupRun {
    std::string id;
    std::string strategy;
    int slots = 0;
    std::mutex mu;
    std::vector<std::pair<int, std::int64_t>> seen;  // (partition, offset), in arrival order
    std::atomic<int> failures{0};
    std::atomic<int> joins{0};
};

void run_slot(Store& store, GroupRun& group, unsigned seed, const std::atomic<bool>& stop) {
    std::mt19937 rng(seed);
    while (!stop.load()) {
        auto consumer =
            Consumer::create(store, {{"group.id", group.id},
                                     {"enable.auto.commit", "false"},
                                     {"auto.offset.reset", "earliest"},
                                     {"partition.assignment.strategy", group.strategy}});
        if (!consumer || !(*consumer)->subscribe({"t"}).is_ok()) {
            ++group.failures;
            return;
        }
        ++group.joins;
        const int polls = 5 + static_cast<int>(rng() % 100);
        for (int i = 0; i < polls && !stop.load(); ++i) {
            auto message = (*consumer)->poll(5ms);
            if (!message) continue;
            if (!message->error().is_ok()) {
                ++group.failures;
                continue;
            }
            {
                std::lock_guard lock(group.mu);
                group.seen.emplace_back(message->partition().value(), message->offset().value());
            }
            if (!(*consumer)->commit(*message).is_ok()) ++group.failures;
        }
        if (!(*consumer)->close().is_ok()) ++group.failures;
    }
}

}  // namespace

TEST_CASE_TEMPLATE("group stress: members come and go, every group reads every record exactly once",
                   F, MemoryStore, DiskStore) {
    F f;
    constexpr int kRecords = kPerProducer<F>;
    auto store = f.open();
    REQUIRE(store->create_topic("t", kPartitions).is_ok());

    std::vector<GroupRun> groups(3);
    groups[0].id = "a", groups[0].strategy = "cooperative-sticky", groups[0].slots = 4;
    groups[1].id = "b", groups[1].strategy = "range", groups[1].slots = 2;
    groups[2].id = "c", groups[2].strategy = "roundrobin", groups[2].slots = 1;

    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    unsigned seed = 1;
    for (auto& g : groups) {
        for (int s = 0; s < g.slots; ++s) {
            threads.emplace_back([&, s = seed++] { run_slot(*store, g, s, stop); });
        }
    }

    std::mutex produced_mu;
    std::set<std::pair<int, std::int64_t>> produced;
    std::atomic<int> produce_failures{0};
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; ++p) {
        producers.emplace_back([&, p] {
            auto producer = Producer::create(*store);
            if (!producer) {
                ++produce_failures;
                return;
            }
            for (int i = 0; i < kRecords; ++i) {
                ProducerRecord record;
                record.topic = "t";
                record.key = "k" + std::to_string(p) + "-" + std::to_string(i);
                record.value = "v" + std::to_string(i);
                auto report = (*producer)->produce_sync(std::move(record));
                if (!report || !report->error.is_ok()) {
                    ++produce_failures;
                    continue;
                }
                std::lock_guard lock(produced_mu);
                produced.emplace(report->partition.value(), report->offset.value());
            }
        });
    }
    for (auto& t : producers) t.join();
    REQUIRE(produce_failures.load() == 0);
    REQUIRE(produced.size() == 2 * kRecords);

    // Let the groups drain: done when every group has committed up to each log end.
    GroupAdmin admin(*store);
    const std::vector<std::string> ids = {"a", "b", "c"};
    const bool drained = wait_for_groups_drained(admin, ids, kPartitions);
    stop.store(true);
    for (auto& t : threads) t.join();
    REQUIRE(drained);

    for (auto& g : groups) {
        CAPTURE(g.id);
        CHECK(g.failures.load() == 0);
        CHECK(g.joins.load() > g.slots);  // members really came and went
        MESSAGE(g.id << ": " << g.joins.load() << " joins, " << g.seen.size() << " records");
        std::map<std::pair<int, std::int64_t>, int> counts;
        for (const auto& record : g.seen) ++counts[record];
        std::set<std::pair<int, std::int64_t>> unique;
        int duplicates = 0;
        for (const auto& [record, n] : counts) {
            unique.insert(record);
            duplicates += n - 1;
        }
        CHECK(unique == produced);
        CHECK(duplicates == 0);
        // Per partition, a group's records arrive in offset order.
        std::map<int, std::int64_t> last;
        for (const auto& [partition, offset] : g.seen) {
            auto it = last.find(partition);
            if (it != last.end()) CHECK(offset > it->second);
            last[partition] = offset;
        }
        auto d = admin.describe_group(g.id);
        REQUIRE(d.is_ok());
        CHECK(d->state == GroupState::empty);
        for (const auto& p : d->partitions) CHECK(p.committed == p.log_end_offset);
    }
}

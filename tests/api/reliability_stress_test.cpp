// Stress (issue 7, section 5): 8 producer threads and 8 consumers in 3 consumer groups, with a
// maintenance thread compacting and deleting, checked against the commit protocol.
//
// Three topics:
//   - "events" (cleanup.policy=delete, 6 partitions): consumed by groups "a" (3 members,
//     cooperative-sticky), "b" (3, range) and "c" (2, roundrobin). Members come and go, commit
//     every few records and sometimes leave without committing what they processed, so
//     records are redelivered. The maintenance thread deletes (delete_records) below the
//     lowest offset all three groups have committed, as a Kafka user deletes consumed data.
//   - "state" (cleanup.policy=compact, small segments): keyed records and some tombstones,
//     compacted by the maintenance thread while producers write.
//   - "scratch" (cleanup.policy=delete, retention.bytes): written, never consumed, trimmed by
//     retention.
// The amount of work is counted, not timed: every producer sends a fixed number of records,
// the maintenance thread runs a fixed number of passes spread over the producers' progress,
// and the consumers run until every group has committed every partition's log end.
//
// Checks:
//   - every acknowledged record of "events" is consumed by each group at least once, and no
//     record is consumed that was never acknowledged (same offset, same value);
//   - the commit protocol: for each group and partition, the deliveries covered by a
//     successful commit (those below the committed offset, by the member that committed)
//     are every offset from 0 to the final committed offset exactly once, in order;
//   - committed offsets, sampled by the maintenance thread and at the end, never move
//     backwards and never exceed the log end; at the end they equal the log end;
//   - "state": after a final compaction each key's latest acknowledged value is the last
//     value read for it (a tombstone may be read or be gone), every record read was
//     acknowledged, and compaction removed records;
//   - "scratch": retention raised the log start, and what remains is every acknowledged
//     record from the log start to the end.
//
// Size: BROOK_STRESS_RECORDS=N sets the records per producer (default 3000 in memory and 200 on
// disk; under sanitizers 300 and 60, enough for every check above to have something to see).
#include <algorithm>
#include <atomic>
#include <cstdlib>
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

constexpr int kProducers = 8;
constexpr int kEventPartitions = 6;
constexpr int kStatePartitions = 2;
constexpr int kKeysPerProducer = 12;
constexpr int kMaintenancePasses = 40;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kRecordsInMemory = 300;
constexpr int kRecordsOnDisk = 60;
#else
constexpr int kRecordsInMemory = 3000;
constexpr int kRecordsOnDisk = 200;
#endif

template <typename F>
int records_per_producer() {
    const char* text = std::getenv("BROOK_STRESS_RECORDS");
    if (text && *text) return std::max(1, std::atoi(text));
    return F::on_disk ? kRecordsOnDisk : kRecordsInMemory;
}

using PartitionOffset = std::pair<int, std::int64_t>;

struct Record {
    std::optional<std::string> key;
    std::optional<std::string> value;
    friend bool operator==(const Record&, const Record&) = default;
};

Record record_of(const Message& m) {
    return {m.key() ? std::optional<std::string>(*m.key()) : std::nullopt,
            m.value() ? std::optional<std::string>(*m.value()) : std::nullopt};
}

// What the producers were told: every acknowledged record by topic, partition and offset.
struct Acks {
    std::mutex mu;
    std::map<std::string, std::map<PartitionOffset, Record>> by_topic;
    std::atomic<int> count{0};
    std::atomic<int> failures{0};
};

struct Delivery {
    int partition;
    std::int64_t offset;
    std::string value;
};

struct GroupRun {
    std::string id;
    std::string strategy;
    int members = 0;
    std::mutex mu;
    std::vector<Delivery> delivered;  // every delivery, duplicates included
    // Per partition, the offsets whose processing a successful commit covered, in commit order.
    std::map<int, std::vector<std::int64_t>> committed_deliveries;
    std::atomic<int> failures{0};
    std::atomic<int> joins{0};
    std::atomic<int> abandoned{0};  // deliveries dropped uncommitted (redelivered later)
};

// One member's deliveries not yet covered by a commit, per partition. Revoked or lost
// partitions drop theirs: another member reads them again from the committed offset.
class Pending final : public RebalanceListener {
  public:
    void on_partitions_assigned(Consumer&, const std::vector<TopicPartition>&) override {}
    void on_partitions_revoked(Consumer&, const std::vector<TopicPartition>& partitions) override {
        for (const auto& tp : partitions) {
            abandoned += by_partition[tp.partition.value()].size();
            by_partition.erase(tp.partition.value());
        }
    }
    std::map<int, std::vector<std::int64_t>> by_partition;
    std::size_t abandoned = 0;
};

void run_member(Store& store, GroupRun& group, unsigned seed, const std::atomic<bool>& stop) {
    std::mt19937 rng(seed);
    while (!stop.load()) {
        auto consumer =
            Consumer::create(store, {{"group.id", group.id},
                                     {"enable.auto.commit", "false"},
                                     {"auto.offset.reset", "earliest"},
                                     {"partition.assignment.strategy", group.strategy}});
        auto pending = std::make_shared<Pending>();
        if (!consumer || !(*consumer)->subscribe({"events"}, pending).is_ok()) {
            ++group.failures;
            return;
        }
        ++group.joins;
        const int polls = 20 + static_cast<int>(rng() % 200);
        const std::size_t commit_every = 1 + rng() % 8;
        std::size_t uncommitted = 0;
        std::map<int, std::int64_t> last_offset;  // per partition, while assigned
        for (int i = 0; i < polls && !stop.load(); ++i) {
            auto message = (*consumer)->poll(5ms);
            for (auto it = last_offset.begin(); it != last_offset.end();) {
                it = pending->by_partition.contains(it->first) ? std::next(it)
                                                               : last_offset.erase(it);
            }
            if (message && !message->error().is_ok()) {
                ++group.failures;
                continue;
            }
            if (message) {
                const int p = message->partition().value();
                const std::int64_t offset = message->offset().value();
                // Within one assignment a partition's records arrive in offset order.
                if (last_offset.contains(p) && offset <= last_offset[p]) ++group.failures;
                last_offset[p] = offset;
                pending->by_partition[p].push_back(offset);
                ++uncommitted;
                std::lock_guard lock(group.mu);
                group.delivered.push_back({p, offset, std::string(message->value().value_or(""))});
            }
            if (uncommitted == 0 || (message && uncommitted < commit_every)) continue;
            const Status committed = (*consumer)->commit();
            if (committed.is_ok()) {
                std::lock_guard lock(group.mu);
                for (auto& [p, offsets] : pending->by_partition) {
                    auto& log = group.committed_deliveries[p];
                    log.insert(log.end(), offsets.begin(), offsets.end());
                    offsets.clear();
                }
                uncommitted = 0;
            } else if (committed.code() != Code::fenced) {
                ++group.failures;
            }
        }
        // The member leaves without committing what it processed since its last commit.
        for (const auto& [p, offsets] : pending->by_partition) pending->abandoned += offsets.size();
        pending->by_partition.clear();
        if (!(*consumer)->close().is_ok()) ++group.failures;
        group.abandoned += static_cast<int>(pending->abandoned);
    }
}

void run_producer(Store& store, Acks& acks, int id, int records) {
    // Half the producers wait for fsync (acks=all, sharing fsyncs), half do not.
    auto producer = Producer::create(store, {{"acks", id % 2 == 0 ? "all" : "1"}});
    if (!producer) {
        ++acks.failures;
        return;
    }
    for (int i = 0; i < records; ++i) {
        ProducerRecord record;
        const int kind = i % 4;  // events, events, state, scratch
        record.topic = kind < 2 ? "events" : kind == 2 ? "state" : "scratch";
        record.value = "p" + std::to_string(id) + "-" + std::to_string(i);
        if (record.topic == "state") {
            record.key = "p" + std::to_string(id) + "-k" + std::to_string(i % kKeysPerProducer);
            if (i % 11 == 10) record.value.reset();  // a tombstone
        }
        const Record sent{record.key, record.value};
        auto report = producer.value()->produce_sync(std::move(record));
        if (!report || !report->error.is_ok()) {
            ++acks.failures;
            continue;
        }
        std::lock_guard lock(acks.mu);
        acks.by_topic[report->topic][{report->partition.value(), report->offset.value()}] = sent;
        ++acks.count;
    }
}

// Samples every group's committed offsets and checks them against the log ends read after
// them and against the previous sample: never ahead of the log end, never backwards.
class CommitMonitor {
  public:
    CommitMonitor(Store& store, const std::vector<std::string>& groups)
        : store_(store), admin_(store), groups_(groups) {}

    // Returns the lowest committed offset of each "events" partition over all groups
    // (absent where some group has not committed).
    std::map<int, std::int64_t> sample() {
        std::map<std::string, std::map<int, std::int64_t>> committed;
        for (const auto& g : groups_) {
            auto d = admin_.describe_group(g);
            if (!d) continue;  // not_found until the group's first member joins
            for (const auto& p : d->partitions) {
                if (p.committed) committed[g][p.partition.value()] = p.committed->value();
            }
        }
        auto topic = store_.describe_topic("events");
        if (!topic) {
            ++violations;
            return {};
        }
        std::map<int, std::int64_t> lowest;
        std::map<int, int> groups_committed;
        for (const auto& [g, partitions] : committed) {
            for (const auto& [p, offset] : partitions) {
                CAPTURE(g);
                CAPTURE(p);
                if (offset > topic->partitions.at(p).log_end_offset.value()) ++violations;
                auto& previous = previous_[{g, p}];
                if (offset < previous) ++violations;
                previous = offset;
                lowest[p] = groups_committed[p]++ == 0 ? offset : std::min(lowest[p], offset);
                ++samples;
            }
        }
        std::erase_if(lowest, [&](const auto& entry) {
            return groups_committed[entry.first] != static_cast<int>(groups_.size());
        });
        return lowest;
    }

    int violations = 0;
    int samples = 0;

  private:
    Store& store_;
    GroupAdmin admin_;
    std::vector<std::string> groups_;
    std::map<std::pair<std::string, int>, std::int64_t> previous_;
};

// Reads a whole partition from its log start with a manually assigned consumer.
std::vector<Message> read_partition(Store& store, const std::string& topic, int partition) {
    auto consumer = Consumer::create(store, {{"auto.offset.reset", "earliest"}});
    REQUIRE(consumer.is_ok());
    REQUIRE((*consumer)->assign({{topic, PartitionId(partition), kOffsetBeginning}}).is_ok());
    auto marks = (*consumer)->get_watermark_offsets({topic, PartitionId(partition)});
    REQUIRE(marks.is_ok());
    std::vector<Message> out;
    while (out.empty() || out.back().offset().value() + 1 < marks->high.value()) {
        auto message = (*consumer)->poll(0ms);
        if (!message) break;
        REQUIRE_MESSAGE(message->error().is_ok(), message->error().to_string());
        out.push_back(std::move(*message));
    }
    return out;
}

}  // namespace

TEST_CASE_TEMPLATE("stress: 8 producers, 8 consumers in 3 groups, compaction and deletion", F,
                   MemoryStore, DiskStore) {
    F f;
    const int records = records_per_producer<F>();
    Options options;
    options.background_maintenance = false;  // the maintenance thread below runs every pass
    auto store = f.open(options);
    REQUIRE(store->create_topic("events", kEventPartitions, {{"segment.bytes", "2048"}}).is_ok());
    REQUIRE(store
                ->create_topic("state", kStatePartitions,
                               {{"cleanup.policy", "compact"},
                                {"segment.bytes", "1024"},
                                {"min.cleanable.dirty.ratio", "0.01"}})
                .is_ok());
    REQUIRE(
        store->create_topic("scratch", 1, {{"segment.bytes", "512"}, {"retention.bytes", "2048"}})
            .is_ok());

    std::vector<GroupRun> groups(3);
    groups[0].id = "a", groups[0].strategy = "cooperative-sticky", groups[0].members = 3;
    groups[1].id = "b", groups[1].strategy = "range", groups[1].members = 3;
    groups[2].id = "c", groups[2].strategy = "roundrobin", groups[2].members = 2;

    Acks acks;
    std::atomic<bool> stop_consumers{false};
    std::atomic<int> producers_done{0};
    std::vector<std::thread> consumers;
    unsigned seed = 1;
    for (auto& g : groups) {
        for (int m = 0; m < g.members; ++m) {
            consumers.emplace_back([&, s = seed++] { run_member(*store, g, s, stop_consumers); });
        }
    }
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
            run_producer(*store, acks, p, records);
            ++producers_done;
        });
    }

    // Maintenance: pass i starts once the producers have delivered i / kMaintenancePasses of
    // their records. Each pass samples committed offsets, deletes the records every group has
    // committed, and runs retention and compaction.
    CommitMonitor monitor(*store, {"a", "b", "c"});
    std::atomic<int> maintenance_failures{0};
    std::map<int, std::int64_t> log_start;
    int deletions = 0;
    std::thread maintenance([&] {
        const int total = kProducers * records;
        for (int pass = 1; pass <= kMaintenancePasses; ++pass) {
            while (acks.count.load() + acks.failures.load() < total * pass / kMaintenancePasses &&
                   producers_done.load() < kProducers) {
                std::this_thread::sleep_for(1ms);  // waiting for progress, not timing anything
            }
            for (const auto& [p, offset] : monitor.sample()) {
                auto start = store->delete_records("events", PartitionId(p), Offset(offset));
                if (!start || start->value() < log_start[p]) {
                    ++maintenance_failures;
                    continue;
                }
                deletions += start->value() > log_start[p];
                log_start[p] = start->value();
            }
            if (!store->run_maintenance().is_ok()) ++maintenance_failures;
        }
    });

    for (auto& t : producers) t.join();
    maintenance.join();
    REQUIRE(acks.failures.load() == 0);
    REQUIRE(maintenance_failures.load() == 0);

    // The groups drain: every group has committed every partition's log end.
    GroupAdmin admin(*store);
    const std::vector<std::string> ids = {"a", "b", "c"};
    const bool drained =
        wait_for_groups_drained(admin, ids, kEventPartitions, [&] { monitor.sample(); });
    stop_consumers.store(true);
    for (auto& t : consumers) t.join();
    REQUIRE(drained);
    REQUIRE(groups_drained(admin, ids, kEventPartitions, [&] { monitor.sample(); }));
    CHECK(monitor.violations == 0);

    const auto& events = acks.by_topic["events"];
    std::map<int, std::int64_t> end_of;
    for (const auto& [at, value] : events)
        end_of[at.first] = std::max(end_of[at.first], at.second + 1);
    for (auto& g : groups) {
        CAPTURE(g.id);
        CHECK(g.failures.load() == 0);
        CHECK(g.joins.load() > g.members);  // members really came and went
        std::set<PartitionOffset> consumed;
        int unacknowledged = 0;
        for (const auto& d : g.delivered) {
            const auto it = events.find({d.partition, d.offset});
            if (it == events.end() || it->second.value != d.value) ++unacknowledged;
            consumed.insert({d.partition, d.offset});
        }
        CHECK(unacknowledged == 0);
        int missing = 0;
        for (const auto& [at, value] : events) missing += !consumed.contains(at);
        CHECK(missing == 0);
        // Committed deliveries: offsets 0 .. log end - 1, each once, in order.
        for (int p = 0; p < kEventPartitions; ++p) {
            CAPTURE(p);
            std::vector<std::int64_t> expected(static_cast<std::size_t>(end_of[p]));
            for (std::size_t i = 0; i < expected.size(); ++i)
                expected[i] = static_cast<std::int64_t>(i);
            CHECK(g.committed_deliveries[p] == expected);
        }
        auto d = admin.describe_group(g.id);
        REQUIRE(d.is_ok());
        CHECK(d->state == GroupState::empty);
        for (const auto& p : d->partitions) CHECK(p.committed == p.log_end_offset);
        MESSAGE(g.id, ": ", g.joins.load(), " joins, ", g.delivered.size(), " deliveries, ",
                g.abandoned.load(), " left uncommitted and redelivered");
    }
    CHECK(monitor.samples > 0);
    CHECK(deletions > 0);  // delete_records really removed consumed records
    MESSAGE(acks.count.load(), " records acknowledged, ", monitor.samples,
            " committed offsets sampled, ", deletions, " log start moves by delete_records");

    // "state": the latest acknowledged value of each key is what a reader sees last for it.
    REQUIRE(store->run_maintenance().is_ok());
    const MaintenanceStats stats = store->maintenance_stats();
    CHECK(stats.bytes_compacted_away > 0);
    CHECK(stats.segments_deleted > 0);
    MESSAGE(stats.passes, " maintenance passes: ", stats.bytes_compacted, " bytes compacted to ",
            stats.bytes_compacted - stats.bytes_compacted_away, ", ", stats.segments_deleted,
            " segments deleted");
    const auto& state = acks.by_topic["state"];
    for (int p = 0; p < kStatePartitions; ++p) {
        CAPTURE(p);
        std::map<std::string, std::optional<std::string>> latest;  // the map is in offset order
        std::size_t acked = 0;
        for (const auto& [at, record] : state) {
            if (at.first != p) continue;
            latest[*record.key] = record.value;
            ++acked;
        }
        std::map<std::string, std::optional<std::string>> seen;
        std::size_t read = 0;
        std::int64_t previous = -1;
        for (const auto& m : read_partition(*store, "state", p)) {
            ++read;
            CHECK(m.offset().value() > previous);
            previous = m.offset().value();
            const auto it = state.find({p, m.offset().value()});
            REQUIRE_MESSAGE(it != state.end(), "a record never acknowledged");
            CHECK(it->second == record_of(m));
            seen[*it->second.key] = it->second.value;
        }
        for (const auto& [key, value] : latest) {
            CAPTURE(key);
            if (value) {
                CHECK(seen[key] == value);
            } else {
                CHECK_FALSE(seen[key].has_value());  // the tombstone, or nothing
            }
        }
        CHECK(read < acked);  // compaction removed records
    }

    // "scratch": retention trimmed it; what is left is every acknowledged record from there.
    const auto& scratch = acks.by_topic["scratch"];
    const auto kept = read_partition(*store, "scratch", 0);
    REQUIRE_FALSE(kept.empty());
    CHECK(kept.front().offset().value() > 0);
    CHECK(kept.back().offset().value() + 1 == static_cast<std::int64_t>(scratch.size()));
    for (std::size_t i = 0; i < kept.size(); ++i) {
        CHECK(kept[i].offset().value() ==
              kept.front().offset().value() + static_cast<std::int64_t>(i));
        const auto it = scratch.find({0, kept[i].offset().value()});
        REQUIRE(it != scratch.end());
        CHECK(it->second == record_of(kept[i]));
    }
    REQUIRE(store->close().is_ok());
}

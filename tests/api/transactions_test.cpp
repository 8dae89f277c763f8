// Transactions through the public API, on disk and in memory: config keys, the producer's
// state machine and its errors, what read_committed and read_uncommitted consumers see,
// offsets sent with a transaction, fencing between two producers sharing a transactional.id,
// transaction.timeout.ms on a ManualClock, and a seeded interleaving of transactional and
// plain producers checked against a model of the read_committed view and the LSO.
#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "api_env.hpp"
#include "txn_util.hpp"

using namespace brook;
using namespace brook_test;
using namespace std::chrono_literals;

namespace {

ProducerRecord record(const std::string& topic, int partition, const std::string& value) {
    return {.topic = topic, .key = value, .value = value, .partition = PartitionId(partition)};
}

std::string fmt_value(const char* prefix, int partition) {
    return prefix + std::to_string(partition);
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE("producer and consumer config: the transaction keys are checked") {
    auto store = MemoryStore().open();
    CHECK(Producer::create(*store, {{"enable.idempotence", "yes"}}).code() ==
          Code::invalid_argument);
    CHECK(Producer::create(*store, {{"transactional.id", ""}}).code() == Code::invalid_argument);
    CHECK(Producer::create(*store, {{"transaction.timeout.ms", "0"}}).code() ==
          Code::invalid_argument);
    auto both =
        Producer::create(*store, {{"transactional.id", "t"}, {"enable.idempotence", "false"}});
    CHECK(both.code() == Code::invalid_argument);
    CHECK(both.status().message().find("enable.idempotence") != std::string::npos);
    CHECK(Producer::create(*store, {{"enable.idempotence", "false"}}).is_ok());
    CHECK(Consumer::create(*store, {{"isolation.level", "serializable"}}).code() ==
          Code::invalid_argument);
    CHECK(Consumer::create(*store, {{"isolation.level", "read_committed"}}).is_ok());
    // Kafka's transaction.max.timeout.ms bounds the timeout when it is used.
    auto long_timeout =
        make_producer(*store, {{"transactional.id", "t"}, {"transaction.timeout.ms", "900001"}});
    CHECK(long_timeout->init_transactions() == Code::invalid_argument);
}

TEST_CASE_TEMPLATE("transaction calls out of order get invalid_txn_state", Fixture, MemoryStore,
                   DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("out", 1).is_ok());

    auto plain = make_producer(*store);
    CHECK(plain->begin_transaction() == Code::invalid_argument);
    CHECK(plain->init_transactions() == Code::invalid_argument);

    auto producer = make_producer(*store, {{"transactional.id", "app"}, {"linger.ms", "0"}});
    CHECK(producer->begin_transaction() == Code::invalid_txn_state);
    CHECK(producer->produce(record("out", 0, "early")) == Code::invalid_txn_state);
    REQUIRE(producer->init_transactions().is_ok());
    CHECK(producer->init_transactions() == Code::invalid_txn_state);
    CHECK(producer->commit_transaction() == Code::invalid_txn_state);
    CHECK(producer->abort_transaction() == Code::invalid_txn_state);
    CHECK(producer->produce(record("out", 0, "outside")) == Code::invalid_txn_state);
    REQUIRE(producer->begin_transaction().is_ok());
    CHECK(producer->begin_transaction() == Code::invalid_txn_state);
    REQUIRE(producer->produce(record("out", 0, "inside")).is_ok());
    REQUIRE(producer->commit_transaction().is_ok());
    // An empty transaction commits and leaves nothing behind.
    REQUIRE(producer->begin_transaction().is_ok());
    REQUIRE(producer->commit_transaction().is_ok());
    CHECK(values_of(read_topic(*store, "out", 1, "read_committed")) ==
          std::vector<std::string>{"inside"});
}

TEST_CASE_TEMPLATE("read_committed sees committed transactions only; read_uncommitted sees all",
                   Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("out", 3).is_ok());
    auto producer = make_txn_producer(*store, "app");
    auto plain = make_producer(*store);

    REQUIRE(producer->begin_transaction().is_ok());
    for (int p = 0; p < 3; ++p)
        REQUIRE(producer->produce(record("out", p, fmt_value("c", p))).is_ok());
    REQUIRE(producer->commit_transaction().is_ok());

    REQUIRE(producer->begin_transaction().is_ok());
    for (int p = 0; p < 3; ++p)
        REQUIRE(producer->produce(record("out", p, fmt_value("a", p))).is_ok());
    REQUIRE(producer->abort_transaction().is_ok());
    REQUIRE(plain->produce_sync(record("out", 0, "plain")).is_ok());

    // An open transaction holds the LSO at its first offset in partition 1 only.
    REQUIRE(producer->begin_transaction().is_ok());
    auto open_report = producer->produce_sync(record("out", 1, "open"));
    REQUIRE(open_report.is_ok());
    REQUIRE(plain->produce_sync(record("out", 1, "after-open")).is_ok());

    auto committed = read_topic(*store, "out", 3, "read_committed");
    CHECK(values_of(committed) == std::vector<std::string>{"c0", "plain", "c1", "c2"});
    auto reader = Consumer::create(*store, {{"isolation.level", "read_committed"}});
    REQUIRE(reader.is_ok());
    auto marks = (*reader)->get_watermark_offsets({"out", PartitionId(1)});
    REQUIRE(marks.is_ok());
    CHECK(marks->high == open_report->offset);
    auto uncommitted = read_topic(*store, "out", 3, "read_uncommitted");
    CHECK(sorted(values_of(uncommitted)) ==
          sorted({"c0", "c1", "c2", "a0", "a1", "a2", "plain", "open", "after-open"}));

    REQUIRE(producer->commit_transaction().is_ok());
    CHECK(values_of(read_topic(*store, "out", 3, "read_committed")) ==
          std::vector<std::string>{"c0", "plain", "c1", "open", "after-open", "c2"});
    // Markers take offsets but are never returned: offsets have gaps where they are.
    const auto& p0 = uncommitted.at(0);
    REQUIRE(p0.size() == 3);
    CHECK(p0[0].offset == 0);
    CHECK(p0[1].offset == 2);  // after the commit marker at 1
    CHECK(p0[2].offset == 4);  // after the abort marker at 3
}

TEST_CASE_TEMPLATE("a record refused before it is queued adds nothing to the transaction", Fixture,
                   MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("out", 3, {{"max.message.bytes", "200"}}).is_ok());
    auto producer = make_txn_producer(*store, "app");
    auto reader = Consumer::create(*store, {{"isolation.level", "read_uncommitted"}});
    REQUIRE(reader.is_ok());
    auto high = [&](int partition) {
        auto marks = (*reader)->get_watermark_offsets({"out", PartitionId(partition)});
        REQUIRE(marks.is_ok());
        return marks->high.value();
    };

    REQUIRE(producer->begin_transaction().is_ok());
    REQUIRE(producer->produce(record("out", 0, "small")).is_ok());
    // Refused by size and by partition number: neither partition joins the transaction.
    CHECK(producer->produce(record("out", 1, std::string(300, 'x'))) == Code::record_too_large);
    CHECK(producer->produce(record("out", 7, "nowhere")) == Code::not_found);
    REQUIRE(producer->commit_transaction().is_ok());
    // Partition 0 holds the record and the commit marker; partition 1 no marker.
    CHECK(high(0) == 2);
    CHECK(high(1) == 0);
    CHECK(high(2) == 0);
    CHECK(values_of(read_topic(*store, "out", 3, "read_committed")) ==
          std::vector<std::string>{"small"});

    // The producer stays usable: the next transaction writes to partition 1 as usual.
    REQUIRE(producer->begin_transaction().is_ok());
    REQUIRE(producer->produce(record("out", 1, "later")).is_ok());
    REQUIRE(producer->commit_transaction().is_ok());
    CHECK(high(1) == 2);
}

TEST_CASE_TEMPLATE("offsets sent with a transaction are committed with it, and only then", Fixture,
                   MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("in", 1).is_ok());
    REQUIRE(store->create_topic("out", 1).is_ok());
    auto consumer = Consumer::create(*store, {{"group.id", "g"}, {"enable.auto.commit", "false"}});
    REQUIRE(consumer.is_ok());
    auto metadata = (*consumer)->group_metadata();
    REQUIRE(metadata.is_ok());
    CHECK(metadata->group_id == "g");
    CHECK(metadata->member_id.empty());
    CHECK(Consumer::create(*store).value()->group_metadata().code() == Code::invalid_argument);

    auto producer = make_txn_producer(*store, "app");
    const TopicPartition in0{"in", PartitionId(0)};
    REQUIRE(producer->begin_transaction().is_ok());
    REQUIRE(producer->produce(record("out", 0, "x")).is_ok());
    REQUIRE(producer->send_offsets_to_transaction({{"in", PartitionId(0), Offset(5)}}, *metadata)
                .is_ok());
    REQUIRE(producer->abort_transaction().is_ok());
    CHECK((*consumer)->committed({in0}).value().front().offset == kOffsetInvalid);

    REQUIRE(producer->begin_transaction().is_ok());
    REQUIRE(producer->produce(record("out", 0, "y")).is_ok());
    CHECK(producer->send_offsets_to_transaction({{"in", PartitionId(0), Offset(-3)}}, *metadata) ==
          Code::invalid_argument);
    CHECK(producer->send_offsets_to_transaction({{"nope", PartitionId(0), Offset(1)}}, *metadata) ==
          Code::not_found);
    REQUIRE(producer->send_offsets_to_transaction({{"in", PartitionId(0), Offset(7)}}, *metadata)
                .is_ok());
    CHECK((*consumer)->committed({in0}).value().front().offset == kOffsetInvalid);
    REQUIRE(producer->commit_transaction().is_ok());
    CHECK((*consumer)->committed({in0}).value().front().offset == Offset(7));
    CHECK(values_of(read_topic(*store, "out", 1, "read_committed")) ==
          std::vector<std::string>{"y"});

    // Lag of a read_committed group is measured against the LSO: `in` gets 10 plain records,
    // then a transaction opens at offset 10.
    auto plain = make_producer(*store);
    for (int i = 0; i < 10; ++i) REQUIRE(plain->produce_sync(record("in", 0, "input")).is_ok());
    REQUIRE(producer->begin_transaction().is_ok());
    REQUIRE(producer->produce_sync(record("in", 0, "pending")).is_ok());
    GroupAdmin admin(*store);
    auto uncommitted = admin.describe_group("g");
    auto committed = admin.describe_group("g", IsolationLevel::read_committed);
    REQUIRE(uncommitted.is_ok());
    REQUIRE(committed.is_ok());
    REQUIRE(committed->partitions.size() == 1);
    const PartitionLag& lag = committed->partitions.front();
    CHECK(lag.log_end_offset == Offset(11));
    CHECK(lag.last_stable_offset == Offset(10));
    CHECK(*lag.lag == 3);
    CHECK(*uncommitted->partitions.front().lag == 4);
    REQUIRE(producer->abort_transaction().is_ok());
}

TEST_CASE_TEMPLATE("a newer producer with the same transactional.id fences the older one", Fixture,
                   MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("out", 3).is_ok());
    auto old_producer = make_txn_producer(*store, "app");
    REQUIRE(old_producer->begin_transaction().is_ok());
    REQUIRE(old_producer->produce_sync(record("out", 0, "old-open")).is_ok());

    // The newer producer aborts the older one's open transaction and fences it.
    auto new_producer = make_txn_producer(*store, "app");
    CHECK(old_producer->produce(record("out", 1, "old-late")) == Code::fenced);
    CHECK(old_producer->commit_transaction() == Code::fenced);
    CHECK(old_producer->abort_transaction() == Code::fenced);
    CHECK(old_producer->begin_transaction() == Code::fenced);

    REQUIRE(new_producer->begin_transaction().is_ok());
    for (int p = 0; p < 3; ++p)
        REQUIRE(new_producer->produce(record("out", p, fmt_value("new", p))).is_ok());
    REQUIRE(new_producer->commit_transaction().is_ok());
    CHECK(sorted(values_of(read_topic(*store, "out", 3, "read_committed"))) ==
          std::vector<std::string>{"new0", "new1", "new2"});
}

TEST_CASE_TEMPLATE("a fenced producer's queued records fail with fenced at commit", Fixture,
                   MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("out", 1).is_ok());
    auto old_producer = make_txn_producer(*store, "app", {{"linger.ms", "60000"}});
    REQUIRE(old_producer->begin_transaction().is_ok());
    REQUIRE(old_producer->produce_sync(record("out", 0, "first")).is_ok());
    Status late_report;
    REQUIRE(old_producer
                ->produce(record("out", 0, "queued"),
                          [&](const DeliveryReport& r) { late_report = r.error; })
                .is_ok());
    auto new_producer = make_txn_producer(*store, "app");
    // The queued record is appended at commit and refused by the log: its epoch is stale.
    CHECK(old_producer->commit_transaction() == Code::fenced);
    CHECK(late_report == Code::fenced);
    CHECK(values_of(read_topic(*store, "out", 1, "read_committed")).empty());
    CHECK(values_of(read_topic(*store, "out", 1, "read_uncommitted")) ==
          std::vector<std::string>{"first"});
}

TEST_CASE_TEMPLATE("transaction.timeout.ms: maintenance aborts a stale transaction", Fixture,
                   MemoryStore, DiskStore) {
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(1'000'000);
    Options options;
    options.clock = clock;
    options.background_maintenance = false;
    auto store = fixture.open(options);
    REQUIRE(store->create_topic("out", 2).is_ok());
    auto producer = make_txn_producer(*store, "slow", {{"transaction.timeout.ms", "5000"}});
    REQUIRE(producer->begin_transaction().is_ok());
    REQUIRE(producer->produce_sync(record("out", 0, "slow")).is_ok());
    REQUIRE(producer->produce_sync(record("out", 1, "slow")).is_ok());

    clock->advance_ms(4999);
    REQUIRE(store->run_maintenance().is_ok());
    auto reader = Consumer::create(*store, {{"isolation.level", "read_committed"}});
    REQUIRE(reader.is_ok());
    CHECK((*reader)->get_watermark_offsets({"out", PartitionId(0)}).value().high == Offset(0));

    clock->advance_ms(1);
    REQUIRE(store->run_maintenance().is_ok());
    for (int p = 0; p < 2; ++p) {
        auto marks = (*reader)->get_watermark_offsets({"out", PartitionId(p)});
        CHECK(marks.value().high == Offset(2));  // the record and its abort marker
    }
    CHECK(values_of(read_topic(*store, "out", 2, "read_committed")).empty());
    CHECK(producer->commit_transaction() == Code::fenced);
    // A new producer with the id starts afresh.
    auto next = make_txn_producer(*store, "slow");
    REQUIRE(next->begin_transaction().is_ok());
    REQUIRE(next->produce(record("out", 0, "fresh")).is_ok());
    REQUIRE(next->commit_transaction().is_ok());
    CHECK(values_of(read_topic(*store, "out", 2, "read_committed")) ==
          std::vector<std::string>{"fresh"});
}

// Several transactional producers and a plain one append in a seeded random order; a model
// tracks each record's partition, offset and transaction, and after every step where a
// transaction ends the read_committed view and each partition's LSO must match it.
TEST_CASE_TEMPLATE("interleaved transactional and plain producers match a read_committed model",
                   Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    constexpr int kPartitions = 3;
    constexpr int kTxnProducers = 3;
    REQUIRE(store->create_topic("events", kPartitions).is_ok());
    std::vector<std::unique_ptr<Producer>> producers;
    for (int i = 0; i < kTxnProducers; ++i) {
        producers.push_back(make_txn_producer(*store, "tx-" + std::to_string(i)));
    }
    auto plain = make_producer(*store);

    struct Appended {
        std::int64_t offset;
        std::string value;
        int txn;  // -1: not transactional
    };
    std::map<int, std::vector<Appended>> log;          // per partition, in offset order
    std::map<int, bool> committed;                     // txn -> committed (absent: open)
    std::map<int, std::map<int, std::int64_t>> first;  // open txn -> partition -> first offset
    std::vector<int> current(kTxnProducers, -1);       // each producer's open txn
    int next_txn = 0;
    std::mt19937 random(20261126);

    auto check_model = [&] {
        std::map<int, std::vector<ReadRecord>> expected;
        std::map<int, std::int64_t> lso;
        for (int p = 0; p < kPartitions; ++p) {
            lso[p] = std::numeric_limits<std::int64_t>::max();
            for (const auto& [txn, partitions] : first) {
                if (auto it = partitions.find(p); it != partitions.end()) {
                    lso[p] = std::min(lso[p], it->second);
                }
            }
            for (const auto& a : log[p]) {
                if (a.offset >= lso[p]) break;
                if (a.txn < 0 || committed.at(a.txn))
                    expected[p].push_back({a.offset, a.value, a.value});
            }
            expected[p];
        }
        CHECK(read_topic(*store, "events", kPartitions, "read_committed") == expected);
        auto reader = Consumer::create(*store, {{"isolation.level", "read_committed"}});
        auto all = Consumer::create(*store);
        for (int p = 0; p < kPartitions; ++p) {
            const auto high =
                (*reader)->get_watermark_offsets({"events", PartitionId(p)}).value().high;
            const auto end = (*all)->get_watermark_offsets({"events", PartitionId(p)}).value().high;
            CHECK(high.value() == std::min(lso[p], end.value()));
        }
    };

    for (int step = 0; step < 400; ++step) {
        CAPTURE(step);
        const int who = static_cast<int>(random() % (kTxnProducers + 1));
        const int p = static_cast<int>(random() % kPartitions);
        const std::string value = "v" + std::to_string(step);
        if (who == kTxnProducers) {
            auto report = plain->produce_sync(record("events", p, value));
            REQUIRE(report.is_ok());
            log[p].push_back({report->offset.value(), value, -1});
            continue;
        }
        Producer& producer = *producers[who];
        int& txn = current[who];
        const int action = static_cast<int>(random() % 10);
        if (txn < 0) {
            REQUIRE(producer.begin_transaction().is_ok());
            txn = next_txn++;
        }
        if (action < 7) {
            auto report = producer.produce_sync(record("events", p, value));
            REQUIRE(report.is_ok());
            log[p].push_back({report->offset.value(), value, txn});
            first[txn].try_emplace(p, report->offset.value());
            continue;
        }
        const bool commit = action < 9;
        REQUIRE((commit ? producer.commit_transaction() : producer.abort_transaction()).is_ok());
        committed[txn] = commit;
        first.erase(txn);
        txn = -1;
        check_model();
    }
    for (int who = 0; who < kTxnProducers; ++who) {
        if (current[who] < 0) continue;
        REQUIRE(producers[who]->commit_transaction().is_ok());
        committed[current[who]] = true;
        first.erase(current[who]);
    }
    check_model();
    MESSAGE("interleaving: ", next_txn, " transactions checked against the model");
}

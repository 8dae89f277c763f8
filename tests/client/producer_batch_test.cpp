// Producer::produce_batch(): each call's records land in one batch of one partition, with
// consecutive offsets, whatever the batches around them; the partition follows the call's
// rules (given, the keys' common partition, or sticky); a call that cannot be taken whole
// queues nothing. A seeded random mix of produce() and produce_batch() calls is checked against
// a model of every partition's log, read back batch by batch.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "api/api_env.hpp"
#include "api/txn_util.hpp"
#include "client/partitioner.hpp"
#include "client/producer_batch_support.hpp"
#include "log/batch_builder.hpp"
#include "log/format.hpp"

using namespace brook;
using namespace brook_test;
using namespace std::chrono_literals;

namespace {

// A record as the model expects it in the log, and the call it came from.
struct Expected {
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<Header> headers;
    std::int64_t timestamp = 0;
    int call = 0;
};

// Owns the bytes a produce_batch() call's BatchRecords view.
struct Call {
    std::vector<Expected> records;
    std::vector<BatchRecord> views;

    void make_views(bool with_timestamps) {
        views.clear();
        for (const Expected& e : records) {
            views.push_back(
                {.key = e.key ? std::optional<std::string_view>(*e.key) : std::nullopt,
                 .value = e.value ? std::optional<std::string_view>(*e.value) : std::nullopt,
                 .timestamp = with_timestamps ? std::optional(e.timestamp) : std::nullopt,
                 .headers = e.headers});
        }
    }
};

}  // namespace

TEST_CASE_TEMPLATE(
    "produce_batch() and produce() mixed: every call's records in one batch, as the model says",
    Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(kNow);
    auto store = fixture.open({.clock = clock});
    constexpr int kPartitions = 3;
    REQUIRE(store->create_topic("t", kPartitions, {{"max.message.bytes", "20000"}}).is_ok());
    std::unique_ptr<Producer> holder;
    // Small batches, so calls meet full open batches, batches sealed by size and by
    // max.message.bytes; a long linger, so only size and flush() seal.
    Producer& producer =
        producer_for(*store, holder, {{"linger.ms", "100000"}, {"batch.size", "3000"}});

    std::mt19937_64 rng(20261126);
    const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    std::map<int, std::vector<Expected>> model;  // partition -> its log
    std::map<int, std::vector<std::pair<int, std::int64_t>>>
        reports;  // call -> (partition, offset)
    const auto random_record = [&](int call, std::optional<std::string> key) {
        Expected e;
        e.key = std::move(key);
        if (pick(10) != 0)
            e.value = std::string(static_cast<std::size_t>(pick(400)), 'a' + pick(26));
        if (pick(4) == 0) e.headers.push_back({"h" + std::to_string(pick(5)), std::nullopt});
        if (pick(4) == 0) e.headers.push_back({"trace", std::to_string(rng())});
        e.timestamp = kNow + pick(1000);
        e.call = call;
        return e;
    };

    constexpr int kCalls = 400;
    for (int call = 0; call < kCalls; ++call) {
        clock->advance_ms(1);
        const auto callback = [&reports, call](const DeliveryReport& r) {
            CHECK_MESSAGE(r.error.is_ok(), r.error.to_string());
            reports[call].emplace_back(r.partition.value(), r.offset.value());
        };
        if (pick(3) == 0) {
            const int p = pick(kPartitions);
            Expected e = random_record(call, "single-" + std::to_string(pick(50)));
            REQUIRE(producer
                        .produce({.topic = "t",
                                  .key = e.key,
                                  .value = e.value,
                                  .headers = e.headers,
                                  .timestamp = e.timestamp,
                                  .partition = PartitionId(p)},
                                 callback)
                        .is_ok());
            model[p].push_back(std::move(e));
            continue;
        }
        Call c;
        const int n = pick(40);
        const bool keyed = pick(2) == 0;
        const std::string key = "key-" + std::to_string(pick(1000));
        for (int i = 0; i < n; ++i) {
            // With no partition given, keyed calls use one key (one partition) for all records
            // but let some be null; unkeyed calls go to the sticky partition.
            std::optional<std::string> k;
            if (keyed && pick(5) != 0) k = key;
            c.records.push_back(random_record(call, k));
        }
        const bool with_timestamps = pick(2) == 0;
        if (!with_timestamps) {
            for (Expected& e : c.records) e.timestamp = clock->now_ms();
        }
        c.make_views(with_timestamps);
        std::optional<PartitionId> given;
        if (pick(2) == 0) given = PartitionId(pick(kPartitions));
        REQUIRE(producer.produce_batch("t", given, c.views, callback).is_ok());
        if (n == 0) continue;
        int p = 0;
        const bool any_key = std::any_of(c.records.begin(), c.records.end(),
                                         [](const Expected& e) { return e.key.has_value(); });
        if (given) {
            p = given->value();
        } else if (any_key) {
            p = client::murmur2_partition(key, kPartitions);
        } else {
            // Sticky: the model learns the partition from the reports after flush().
            p = -1 - call;
        }
        for (Expected& e : c.records) model[p].push_back(std::move(e));
    }
    REQUIRE(producer.flush().is_ok());
    CHECK(producer.outstanding() == 0);

    // Every record got one report; a call's records share a partition and have consecutive
    // offsets. Sticky calls' records move to the partition their reports name.
    for (auto it = model.begin(); it != model.end();) {
        if (it->first >= 0) {
            ++it;
            continue;
        }
        const int call = -1 - it->first;
        REQUIRE(!reports[call].empty());
        const int p = reports[call].front().first;
        // Calls were made in order, so this call's records follow those of earlier calls.
        std::vector<Expected>& log = model[p];
        const auto at = std::upper_bound(log.begin(), log.end(), call,
                                         [](int c, const Expected& e) { return c < e.call; });
        log.insert(at, it->second.begin(), it->second.end());
        it = model.erase(it);
    }
    for (const auto& [call, got] : reports) {
        for (std::size_t i = 1; i < got.size(); ++i) {
            CHECK(got[i].first == got[0].first);
            CHECK(got[i].second == got[0].second + static_cast<std::int64_t>(i));
        }
    }

    int batches_seen = 0;
    std::size_t records_seen = 0;
    for (int p = 0; p < kPartitions; ++p) {
        const std::vector<Expected>& expected = model[p];
        std::map<int, int> batch_of_call;  // call -> batch index of its first record
        std::int64_t offset = 0;
        int batch_index = 0;
        for (const log::DecodedBatch& batch : batches_of(*store, "t", p)) {
            CHECK(batch.header.total_size() <= 20000u);
            for (const log::Record& r : batch.records) {
                REQUIRE(static_cast<std::size_t>(offset) < expected.size());
                const Expected& e = expected[static_cast<std::size_t>(offset)];
                CHECK(r.offset == Offset(offset));
                CHECK(r.key == e.key);
                CHECK(r.value == e.value);
                CHECK(r.timestamp == e.timestamp);
                REQUIRE(r.headers.size() == e.headers.size());
                for (std::size_t h = 0; h < e.headers.size(); ++h) {
                    CHECK(r.headers[h].key == e.headers[h].key);
                    CHECK(r.headers[h].value == e.headers[h].value);
                }
                const auto [first, inserted] = batch_of_call.emplace(e.call, batch_index);
                CHECK_MESSAGE(first->second == batch_index,
                              "call " << e.call << " split across batches");
                const auto& got = reports[e.call];
                const auto reported = std::find(got.begin(), got.end(), std::pair(p, offset));
                CHECK(reported != got.end());
                ++offset;
            }
            ++batch_index;
        }
        CHECK(static_cast<std::size_t>(offset) == expected.size());
        batches_seen += batch_index;
        records_seen += expected.size();
    }
    // The mix met batches of several calls, as the test means it to.
    CHECK(records_seen > static_cast<std::size_t>(kCalls) * 5);
    CHECK(batches_seen > 20);
    CHECK(static_cast<std::size_t>(batches_seen) < records_seen / 4);
}

TEST_CASE_TEMPLATE("produce_batch(): a call refused for any record queues nothing", Fixture,
                   MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 4, {{"max.message.bytes", "2000"}}).is_ok());
    REQUIRE(store->create_topic("compacted", 1, {{"cleanup.policy", "compact"}}).is_ok());
    std::unique_ptr<Producer> holder;
    Producer& producer = producer_for(*store, holder, {{"linger.ms", "0"}});
    const std::string value(100, 'v');

    // Two keys that map to different partitions of "t".
    std::string other = "b";
    while (client::murmur2_partition(other, 4) == client::murmur2_partition("a", 4)) other += "b";
    const std::vector<BatchRecord> split = {{.key = "a", .value = value},
                                            {.key = std::nullopt, .value = value},
                                            {.key = other, .value = value}};
    const Status mixed = producer.produce_batch("t", std::nullopt, split);
    CHECK(mixed.code() == Code::invalid_argument);
    CHECK(mixed.message().find("records 0 and 2") != std::string::npos);
    // With the partition given, the same records are taken.
    CHECK(producer.produce_batch("t", PartitionId(1), split).is_ok());

    const std::vector<BatchRecord> null_key = {{.key = "k", .value = value},
                                               {.key = std::nullopt, .value = value}};
    CHECK(producer.produce_batch("compacted", std::nullopt, null_key).code() ==
          Code::invalid_argument);
    CHECK(producer.produce_batch("missing", std::nullopt, null_key).code() == Code::not_found);
    CHECK(producer.produce_batch("t", PartitionId(4), null_key).code() == Code::not_found);
    CHECK(producer.produce_batch("t", PartitionId(-1), null_key).code() == Code::not_found);
    CHECK(producer.produce_batch("t", PartitionId(0), {}).is_ok());

    // Calls of growing size up to max.message.bytes: accepted exactly while the records fit
    // in one batch of at most 2000 bytes, as the log's own encoder measures it.
    std::vector<BatchRecord> records;
    int accepted = 0;
    for (int n = 1; n <= 30; ++n) {
        records.push_back({.key = "key", .value = value, .timestamp = kNow + n * 1000});
        log::BatchBuilder builder;
        for (int i = 0; i < n; ++i) {
            const std::span<const Header> none;
            builder.add(records[i].key, records[i].value, none, *records[i].timestamp, i,
                        log::BatchBuilder::fields_size(records[i].key, records[i].value, none));
        }
        const bool fits = builder.size_bytes() <= 2000;
        const Status status = producer.produce_batch("t", PartitionId(2), records);
        CHECK_MESSAGE(status.is_ok() == fits, n << " records: " << status.to_string());
        if (!fits) CHECK(status.code() == Code::record_too_large);
        if (status.is_ok()) ++accepted;
    }
    CHECK(accepted > 5);
    CHECK(accepted < 30);

    // A record claiming a terabyte is refused before a byte of it is read or allocated for.
    const std::string small(16, 's');
    const std::vector<BatchRecord> huge = {
        {.key = "a", .value = value},
        {.key = "b", .value = std::string_view(small.data(), std::size_t{1} << 40)}};
    const Status refused = producer.produce_batch("t", PartitionId(3), huge);
    CHECK(refused.code() == Code::record_too_large);
    CHECK(refused.message().find("at least") != std::string::npos);
    REQUIRE(producer.flush().is_ok());

    // Only the accepted calls are in the logs: each as one batch.
    CHECK(log_end(*store, "compacted", 0) == 0);
    CHECK(log_end(*store, "t", 0) == 0);
    CHECK(log_end(*store, "t", 3) == 0);
    CHECK(log_end(*store, "t", 1) == 3);
    const auto batches = batches_of(*store, "t", 2);
    REQUIRE(batches.size() == static_cast<std::size_t>(accepted));
    for (int b = 0; b < accepted; ++b) CHECK(batches[b].records.size() == std::size_t(b) + 1);
}

TEST_CASE_TEMPLATE(
    "produce_batch() with linger.ms = 0 appends before it returns; otherwise it lingers", Fixture,
    MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 1).is_ok());
    const std::vector<BatchRecord> records = {{.key = "a", .value = "1"},
                                              {.key = "b", .value = std::nullopt},
                                              {.key = std::nullopt, .value = "3"}};
    std::unique_ptr<Producer> holder;
    SUBCASE("linger.ms = 0") {
        Producer& producer = producer_for(*store, holder, {{"linger.ms", "0"}});
        REQUIRE(producer.produce_batch("t", std::nullopt, records).is_ok());
        CHECK(log_end(*store, "t", 0) == 3);
        REQUIRE(producer.produce_batch("t", std::nullopt, records).is_ok());
        CHECK(batches_of(*store, "t", 0).size() == 2);
    }
    SUBCASE("a long linger.ms: joined by the next records, appended by flush()") {
        Producer& producer = producer_for(*store, holder, {{"linger.ms", "100000"}});
        REQUIRE(producer.produce("t", PartitionId(0), "x", "0").is_ok());
        REQUIRE(producer.produce_batch("t", std::nullopt, records).is_ok());
        REQUIRE(producer.produce("t", PartitionId(0), "y", "4").is_ok());
        CHECK(log_end(*store, "t", 0) == 0);
        CHECK(producer.outstanding() == 5);
        REQUIRE(producer.flush().is_ok());
        const auto batches = batches_of(*store, "t", 0);
        REQUIRE(batches.size() == 1);
        REQUIRE(batches[0].records.size() == 5);
        CHECK(batches[0].records[1].key == "a");
        CHECK(batches[0].records[2].value == std::nullopt);
        CHECK(batches[0].records[3].key == std::nullopt);
    }
}

TEST_CASE_TEMPLATE("produce_batch() in transactions: committed together, aborted together", Fixture,
                   MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 2).is_ok());
    auto producer = make_txn_producer(*store, "batcher");
    const std::vector<BatchRecord> records = {
        {.key = "k1", .value = "a"}, {.key = "k2", .value = "b"}, {.key = "k3", .value = "c"}};
    CHECK(producer->produce_batch("t", PartitionId(0), records).code() == Code::invalid_txn_state);

    REQUIRE(producer->begin_transaction().is_ok());
    REQUIRE(producer->produce_batch("t", PartitionId(0), records).is_ok());
    REQUIRE(producer->produce_batch("t", PartitionId(1), records).is_ok());
    REQUIRE(producer->abort_transaction().is_ok());
    REQUIRE(producer->begin_transaction().is_ok());
    REQUIRE(producer->produce_batch("t", PartitionId(1), records).is_ok());
    REQUIRE(producer->commit_transaction().is_ok());

    const auto committed = read_topic(*store, "t", 2, "read_committed");
    CHECK((committed.count(0) == 0 || committed.at(0).empty()));
    REQUIRE(committed.count(1) == 1);
    const std::vector<ReadRecord>& p1 = committed.at(1);
    REQUIRE(p1.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(p1[i].key == *records[i].key);
        CHECK(p1[i].value == *records[i].value);
    }
    // The aborted batch is in the log, before the committed one, and never read as committed.
    CHECK(p1.front().offset > 3);
    CHECK(read_topic(*store, "t", 2, "read_uncommitted").at(1).size() == 6);
}

TEST_CASE_TEMPLATE(
    "produce_batch(): a call too large to join the open batch seals it intact and starts its own",
    Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 1, {{"max.message.bytes", "2000"}}).is_ok());
    std::unique_ptr<Producer> holder;
    Producer& producer = producer_for(*store, holder, {{"linger.ms", "100000"}});
    const std::string value(100, 'v');
    const auto call_of = [&](int n) {
        return std::vector<BatchRecord>(static_cast<std::size_t>(n),
                                        {.key = std::nullopt, .value = value, .timestamp = kNow});
    };
    std::vector<std::string> keys;  // the expected log, by key
    for (int i = 0; i < 5; ++i) {
        keys.push_back("single-" + std::to_string(i));
        REQUIRE(producer.produce("t", PartitionId(0), keys.back(), value, kNow).is_ok());
    }
    // 12 records of ~110 bytes fit alone in 2000 bytes, not beside the 5 already open.
    std::vector<BatchRecord> twelve = call_of(12);
    std::vector<std::string> twelve_keys;
    for (int i = 0; i < 12; ++i) twelve_keys.push_back("twelve-" + std::to_string(i));
    for (int i = 0; i < 12; ++i) twelve[i].key = twelve_keys[i];
    REQUIRE(producer.produce_batch("t", PartitionId(0), twelve).is_ok());
    keys.insert(keys.end(), twelve_keys.begin(), twelve_keys.end());
    // Three more fit beside the twelve.
    std::vector<BatchRecord> three = call_of(3);
    const std::vector<std::string> three_keys = {"three-0", "three-1", "three-2"};
    for (int i = 0; i < 3; ++i) three[i].key = three_keys[i];
    REQUIRE(producer.produce_batch("t", PartitionId(0), three).is_ok());
    keys.insert(keys.end(), three_keys.begin(), three_keys.end());
    // Twenty never fit: refused, and the open batch keeps its fifteen.
    std::vector<BatchRecord> twenty = call_of(20);
    const Status refused = producer.produce_batch("t", PartitionId(0), twenty);
    CHECK(refused.code() == Code::record_too_large);
    CHECK(refused.message().find("20 records") != std::string::npos);
    CHECK(producer.outstanding() == keys.size());
    REQUIRE(producer.flush().is_ok());

    const auto batches = batches_of(*store, "t", 0);
    REQUIRE(batches.size() == 2);
    CHECK(batches[0].records.size() == 5);
    CHECK(batches[1].records.size() == 15);
    std::size_t i = 0;
    for (const log::DecodedBatch& batch : batches) {
        CHECK(batch.header.total_size() <= 2000u);
        for (const log::Record& r : batch.records) {
            REQUIRE(i < keys.size());
            CHECK(r.key == keys[i]);
            CHECK(r.offset == Offset(static_cast<std::int64_t>(i)));
            ++i;
        }
    }
    CHECK(i == keys.size());
}

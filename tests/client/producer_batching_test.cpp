// How a Producer turns records into batches, checked against the log: with linger.ms = 0 the
// sender thread appends at once, and records produced while it is busy appending join one
// batch (Kafka's meaning of linger.ms = 0), yet every record gets exactly one report, in
// order, only after its batch is written, and reads back as produced. The sender is held busy
// deterministically by blocking it in the client::testing::before_send hook. A second test
// races a polling producer against the sender over three partitions and compares the logs
// with the records produced (its records take both ways: appended by produce() after a pause
// or handed to the sender). One test pins down which records produce() appends itself.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "api/api_env.hpp"
#include "client/producer_testing.hpp"
#include "log/partition_log.hpp"
#include "store/store_core.hpp"

using namespace brook;
using namespace brook_test;
using namespace std::chrono_literals;

namespace {

// A gate the first thread to send a batch stops at until the test opens it; later sends pass.
struct SenderGate {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false;
    bool open = false;
    int sends = 0;
};
SenderGate gate;

void hold_first_send() {
    std::unique_lock lock(gate.mu);
    ++gate.sends;
    if (gate.entered) return;
    gate.entered = true;
    gate.cv.notify_all();
    gate.cv.wait(lock, [] { return gate.open; });
}

// Installs the hook for one test and removes it (opening the gate) however the test ends.
struct HeldSender {
    HeldSender() {
        std::lock_guard lock(gate.mu);
        gate.entered = false;
        gate.open = false;
        gate.sends = 0;
        client::testing::before_send.store(&hold_first_send);
        // Every record goes through the sender, however slowly the test produces.
        client::testing::append_after_pause.store(false);
    }
    ~HeldSender() {
        release();
        client::testing::before_send.store(nullptr);
        client::testing::append_after_pause.store(true);
    }
    bool wait_entered() {
        std::unique_lock lock(gate.mu);
        return gate.cv.wait_for(lock, 60s, [] { return gate.entered; });
    }
    void release() {
        std::lock_guard lock(gate.mu);
        gate.open = true;
        gate.cv.notify_all();
    }
    int sends() {
        std::lock_guard lock(gate.mu);
        return gate.sends;
    }
};

struct Produced {
    std::string key;
    std::string value;
    std::int64_t timestamp;
};

Produced model_record(int i) {
    return {"k" + std::to_string(i % 7), "value-" + std::to_string(i) + std::string(i % 13, 'x'),
            1'700'000'000'000 + i};
}

std::vector<log::DecodedBatch> read_all(Store& store, const std::string& topic, int p = 0) {
    auto partition = store.core()->partition(topic, PartitionId(p));
    REQUIRE(partition.is_ok());
    auto batches = (*partition)->log->read(Offset(0), 64 << 20);
    REQUIRE_MESSAGE(batches.is_ok(), batches.status().to_string());
    return std::move(batches).value();
}

}  // namespace

TEST_CASE_TEMPLATE("linger.ms = 0: records produced while the sender appends share a batch",
                   Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 1).is_ok());
    bool durable = false;
    SUBCASE("acks=1") {}
    SUBCASE("acks=all") {
        durable = true;
    }
    HeldSender held;
    auto created = Producer::create(
        *store, {{"linger.ms", "0"}, {"batch.size", "1000000"}, {"acks", durable ? "all" : "1"}});
    REQUIRE(created.is_ok());
    Producer& producer = **created;
    auto partition = store->core()->partition("t", PartitionId(0));
    REQUIRE(partition.is_ok());
    const log::PartitionLog& log = *(*partition)->log;

    constexpr int kRecords = 200;
    std::vector<int> reported;  // record numbers, in the order their callbacks ran
    bool every_report_after_write = true;
    const auto produce = [&](int i) {
        const Produced m = model_record(i);
        const Status status = producer.produce(
            {.topic = "t", .key = m.key, .value = m.value, .timestamp = m.timestamp},
            [&, i](const DeliveryReport& report) {
                CHECK_MESSAGE(report.error.is_ok(), report.error.to_string());
                CHECK(report.offset == Offset(i));
                CHECK(report.timestamp == model_record(i).timestamp);
                CHECK(report.topic == "t");
                every_report_after_write =
                    every_report_after_write && log.log_end_offset() > report.offset;
                reported.push_back(i);
            });
        REQUIRE(status.is_ok());
    };

    // The first record wakes the sender, which stops in the hook before appending it.
    produce(0);
    REQUIRE(held.wait_entered());
    for (int i = 1; i < kRecords; ++i) produce(i);
    // Nothing is appended or reported while the sender is held.
    CHECK(producer.poll(0ms) == 0);
    CHECK(log.log_end_offset() == Offset(0));
    CHECK(producer.outstanding() == kRecords);

    held.release();
    // No flush(): the sender appends the waiting records on its own, as linger.ms = 0 asks.
    while (reported.size() < kRecords) REQUIRE(producer.poll(60s) > 0);
    CHECK(every_report_after_write);
    CHECK(producer.outstanding() == 0);
    std::vector<int> expected(kRecords);
    for (int i = 0; i < kRecords; ++i) expected[i] = i;
    CHECK(reported == expected);  // each exactly once, in order
    CHECK(held.sends() == 2);

    // One batch for the first record, one for all the records produced while it was held.
    const auto batches = read_all(*store, "t");
    REQUIRE(batches.size() == 2);
    CHECK(batches[0].records.size() == 1);
    CHECK(batches[1].records.size() == kRecords - 1);
    int i = 0;
    for (const log::DecodedBatch& batch : batches) {
        for (const log::Record& r : batch.records) {
            const Produced m = model_record(i);
            CHECK(r.offset == Offset(i));
            CHECK(r.key == m.key);
            CHECK(r.value == m.value);
            CHECK(r.timestamp == m.timestamp);
            ++i;
        }
    }
    CHECK(i == kRecords);
}

TEST_CASE_TEMPLATE(
    "linger.ms = 0: after a pause, produce() appends with acks=1 and hands over with acks=all",
    Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 1).is_ok());
    auto partition = store->core()->partition("t", PartitionId(0));
    REQUIRE(partition.is_ok());
    const log::PartitionLog& log = *(*partition)->log;
    std::vector<DeliveryReport> reports;
    const auto produce_first = [&](Producer& producer) {
        // A new producer's first record always comes after a pause.
        const Produced m = model_record(0);
        REQUIRE(
            producer
                .produce({.topic = "t", .key = m.key, .value = m.value, .timestamp = m.timestamp},
                         [&](const DeliveryReport& r) { reports.push_back(r); })
                .is_ok());
    };

    SUBCASE("acks=1: in the log when produce() returns, reported by the next poll()") {
        auto created = Producer::create(*store, {{"linger.ms", "0"}, {"acks", "1"}});
        REQUIRE(created.is_ok());
        produce_first(**created);
        CHECK(log.log_end_offset() == Offset(1));
        CHECK(reports.empty());  // callbacks run in poll(), as in Kafka
        CHECK((*created)->poll(0ms) == 1);
    }
    SUBCASE("acks=all: the sender appends it, so produce() does not wait for the fsync") {
        HeldSender held;
        client::testing::append_after_pause.store(true);
        auto created = Producer::create(*store, {{"linger.ms", "0"}, {"acks", "all"}});
        REQUIRE(created.is_ok());
        produce_first(**created);
        REQUIRE(held.wait_entered());  // the sender thread holds the record
        CHECK(log.log_end_offset() == Offset(0));
        held.release();
        while (reports.empty()) REQUIRE((*created)->poll(60s) > 0);
        CHECK(log.log_end_offset() == Offset(1));
    }
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].error.is_ok());
    CHECK(reports[0].offset == Offset(0));
    const auto batches = read_all(*store, "t");
    REQUIRE(batches.size() == 1);
    REQUIRE(batches[0].records.size() == 1);
    CHECK(batches[0].records[0].key == model_record(0).key);
    CHECK(batches[0].records[0].value == model_record(0).value);
}

TEST_CASE_TEMPLATE("linger.ms = 0 over three partitions: every record once, in order, as produced",
                   Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 3).is_ok());
    auto created = Producer::create(*store, {{"linger.ms", "0"}});
    REQUIRE(created.is_ok());
    Producer& producer = **created;

    // Keyed records over three partitions, polled as a Kafka client does.
    constexpr int kRecords = 3000;
    std::vector<std::vector<std::int64_t>> offsets(3);
    std::vector<std::vector<int>> numbers(3);
    for (int i = 0; i < kRecords; ++i) {
        const Produced m = model_record(i);
        REQUIRE(
            producer
                .produce({.topic = "t", .key = m.key, .value = m.value, .timestamp = m.timestamp},
                         [&, i](const DeliveryReport& report) {
                             REQUIRE(report.error.is_ok());
                             const auto p = static_cast<std::size_t>(report.partition.value());
                             offsets[p].push_back(report.offset.value());
                             numbers[p].push_back(i);
                         })
                .is_ok());
        producer.poll(0ms);
    }
    REQUIRE(producer.flush().is_ok());

    int total = 0;
    for (int p = 0; p < 3; ++p) {
        std::size_t n = 0;
        for (const log::DecodedBatch& batch : read_all(*store, "t", p)) {
            for (const log::Record& r : batch.records) {
                // Reports came in offset order, and each names the record stored there.
                REQUIRE(n < numbers[p].size());
                CHECK(offsets[p][n] == static_cast<std::int64_t>(n));
                const Produced m = model_record(numbers[p][n]);
                CHECK(r.offset == Offset(static_cast<std::int64_t>(n)));
                CHECK(r.key == m.key);
                CHECK(r.value == m.value);
                CHECK(r.timestamp == m.timestamp);
                ++n;
            }
        }
        CHECK(n == numbers[p].size());
        total += static_cast<int>(n);
        // Within a partition, records are stored in the order they were produced.
        for (std::size_t k = 1; k < numbers[p].size(); ++k)
            CHECK(numbers[p][k - 1] < numbers[p][k]);
    }
    CHECK(total == kRecords);
}

TEST_CASE_TEMPLATE("batches stay within max.message.bytes; one the log refuses later is split",
                   Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 1, {{"max.message.bytes", "4000"}}).is_ok());
    auto created = Producer::create(*store, {{"linger.ms", "60000"}, {"batch.size", "10000000"}});
    REQUIRE(created.is_ok());
    Producer& producer = **created;

    // 40 records of about 420 bytes: more than one batch of 4000 bytes can hold, so the
    // producer starts new batches instead of building one the log would refuse.
    std::vector<Offset> offsets;
    const auto produce_all = [&](int first, int n) {
        for (int i = first; i < first + n; ++i) {
            const Produced m = model_record(i);
            REQUIRE(producer
                        .produce({.topic = "t",
                                  .key = m.key,
                                  .value = m.value + std::string(400, 'v'),
                                  .timestamp = m.timestamp},
                                 [&](const DeliveryReport& r) {
                                     CHECK_MESSAGE(r.error.is_ok(), r.error.to_string());
                                     offsets.push_back(r.offset);
                                 })
                        .is_ok());
        }
    };
    produce_all(0, 40);
    REQUIRE(producer.flush().is_ok());
    std::size_t batches_before = read_all(*store, "t").size();
    CHECK(batches_before > 4);

    // A batch queued while max.message.bytes is lowered under it is refused by the log and
    // appended in halves, in order.
    produce_all(40, 8);
    REQUIRE(store->alter_topic_config("t", {{"max.message.bytes", "1000"}}).is_ok());
    REQUIRE(producer.flush().is_ok());

    REQUIRE(offsets.size() == 48);
    for (std::size_t i = 0; i < offsets.size(); ++i)
        CHECK(offsets[i] == Offset(static_cast<std::int64_t>(i)));
    const auto batches = read_all(*store, "t");
    CHECK(batches.size() == batches_before + 4);  // 8 records split down to pairs
    int i = 0;
    for (const log::DecodedBatch& batch : batches) {
        CHECK(batch.header.total_size() <= (i < 40 ? 4000u : 1000u));
        for (const log::Record& r : batch.records) {
            const Produced m = model_record(i);
            CHECK(r.offset == Offset(i));
            CHECK(r.key == m.key);
            CHECK(r.value == m.value + std::string(400, 'v'));
            CHECK(r.timestamp == m.timestamp);
            ++i;
        }
    }
    CHECK(i == 48);
}

// The Consumer reading segments in place (docs/architecture.md, "Reads"): on disk and in
// memory, with small segments so that most reads come from sealed segments, every record
// produced must come back exactly once and in order; messages kept from earlier calls must
// keep their bytes after delete_records and retention removed their segments, after a
// compaction replaced them, and after the store is closed; and a consumer reading while a
// producer appends must see every record as produced.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "api_env.hpp"

using namespace brook;
using namespace std::chrono_literals;

namespace {

struct Produced {
    std::optional<std::string> key;
    std::optional<std::string> value;
};

// Record i: keys repeat every 40 records (so compaction has work; a compacted topic takes only
// keyed records), values of 0 to 500 bytes, some null.
Produced record_number(int i) {
    Produced p;
    p.key = "key-" + std::to_string(i % 40);
    if (i % 13 != 6) p.value = std::string(static_cast<std::size_t>((i * 53) % 500), char('a' + i % 26));
    return p;
}

void produce_range(Producer& producer, const std::string& topic, int from, int to) {
    for (int i = from; i < to; ++i) {
        const Produced p = record_number(i);
        ProducerRecord record;
        record.topic = topic;
        record.partition = PartitionId(0);
        record.key = p.key;
        record.value = p.value;
        const Status produced = producer.produce(std::move(record));
        REQUIRE_MESSAGE(produced.is_ok(), produced.to_string());
    }
    REQUIRE(producer.flush().is_ok());
}

void check_record(const Message& m, int i) {
    CAPTURE(i);
    const Produced p = record_number(i);
    REQUIRE_MESSAGE(m.error().is_ok(), m.error().to_string());
    CHECK(m.offset() == Offset(i));
    CHECK(m.key() == (p.key ? std::optional<std::string_view>(*p.key) : std::nullopt));
    CHECK(m.value() == (p.value ? std::optional<std::string_view>(*p.value) : std::nullopt));
}

std::unique_ptr<Consumer> consumer_from_start(const Store& store, const std::string& topic) {
    auto consumer = Consumer::create(store, {{"auto.offset.reset", "earliest"},
                                             {"max.partition.fetch.bytes", "20000"}});
    REQUIRE_MESSAGE(consumer.is_ok(), consumer.status().to_string());
    REQUIRE((*consumer)->assign({{topic, PartitionId(0), kOffsetBeginning}}).is_ok());
    return std::move(consumer).value();
}

}  // namespace

TEST_CASE_TEMPLATE("messages read in place keep their bytes after their segments are gone",
                   Fixture, brook_test::DiskStore, brook_test::MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    brook_test::create_topic(*store, "events", 1,
                             {{"segment.bytes", "16384"}, {"cleanup.policy", "compact,delete"},
                              {"min.cleanable.dirty.ratio", "0"}});
    auto producer = brook_test::make_producer(*store, {{"linger.ms", "5"}});
    constexpr int kCount = 4000;
    produce_range(*producer, "events", 0, kCount);

    // Every record, in order; every call's messages kept.
    auto consumer = consumer_from_start(*store, "events");
    std::vector<Message> kept;
    int next = 0;
    while (next < kCount / 2) {
        std::vector<Message> batch = consumer->consume(1 + (next * 31) % 400, 5s);
        REQUIRE_MESSAGE(!batch.empty(), "stopped at ", next);
        for (const Message& m : batch) check_record(m, next++);
        kept.insert(kept.end(), batch.begin(), batch.end());
    }

    // Compaction rewrites the sealed segments and delete_records removes those below 3000,
    // the ones the kept messages were read from among them.
    REQUIRE(store->run_maintenance().is_ok());
    const auto stats = store->maintenance_stats();
    CHECK(stats.bytes_compacted > 0);
    auto start = store->delete_records("events", PartitionId(0), Offset(3000));
    REQUIRE_MESSAGE(start.is_ok(), start.status().to_string());
    REQUIRE(store->run_maintenance().is_ok());
    CHECK(store->maintenance_stats().segments_deleted > stats.segments_deleted);
    for (const Message& m : kept) check_record(m, static_cast<int>(m.offset().value()));

    // The consumer hands out what it had read ahead, then goes on from the new log start
    // (auto.offset.reset), through what compaction left, to the end.
    int last = next - 1;
    for (;;) {
        std::vector<Message> batch = consumer->consume(500, 0ms);
        if (batch.empty()) break;
        for (const Message& m : batch) {
            REQUIRE_MESSAGE(m.error().is_ok(), m.error().to_string());
            CHECK(m.offset().value() > last);
            last = static_cast<int>(m.offset().value());
            check_record(m, last);
        }
    }
    CHECK(last == kCount - 1);

    // The kept messages outlive the consumer and the store.
    consumer.reset();
    producer.reset();
    store.reset();
    for (const Message& m : kept) check_record(m, static_cast<int>(m.offset().value()));
}

TEST_CASE_TEMPLATE("a consumer reading while a producer appends sees every record once",
                   Fixture, brook_test::DiskStore, brook_test::MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    brook_test::create_topic(*store, "events", 1, {{"segment.bytes", "65536"}});
    constexpr int kCount = 20000;
    std::thread writer([&] {
        auto producer = brook_test::make_producer(*store, {{"linger.ms", "0"}});
        for (int from = 0; from < kCount; from += 500) produce_range(*producer, "events", from, from + 500);
    });
    auto consumer = consumer_from_start(*store, "events");
    std::vector<Message> kept;
    int next = 0;
    while (next < kCount) {
        std::vector<Message> batch = consumer->consume(700, 10s);
        REQUIRE_MESSAGE(!batch.empty(), "stopped at ", next);
        for (const Message& m : batch) check_record(m, next++);
        if (next % 3 == 0) kept.insert(kept.end(), batch.begin(), batch.end());
    }
    writer.join();
    CHECK(consumer->consume(10, 0ms).empty());
    for (const Message& m : kept) check_record(m, static_cast<int>(m.offset().value()));
}

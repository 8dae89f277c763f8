// The Consumer's reads, copied or viewed in place (docs/architecture.md, "Reading"): on disk and
// in memory, with small segments so that most reads come from sealed segments, every record
// produced must come back exactly once and in order; messages kept from earlier calls must
// keep their bytes after delete_records and retention removed their segments, after a
// compaction replaced them, and after the store is closed; a consumer reading while a
// producer appends must see every record as produced; and records of every shape (headers,
// three-byte value lengths, zstd batches), in reads of any size, come back as produced, whether
// the common-shape decoder or the general one decoded their batch. The same holds on disk with
// Options::mmap_segment_reads on, where segments are read through read-only mappings.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
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
    if (i % 13 != 6)
        p.value = std::string(static_cast<std::size_t>((i * 53) % 500), char('a' + i % 26));
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
    auto consumer = Consumer::create(
        store, {{"auto.offset.reset", "earliest"}, {"max.partition.fetch.bytes", "20000"}});
    REQUIRE_MESSAGE(consumer.is_ok(), consumer.status().to_string());
    REQUIRE((*consumer)->assign({{topic, PartitionId(0), kOffsetBeginning}}).is_ok());
    return std::move(consumer).value();
}

}  // namespace

TEST_CASE_TEMPLATE("messages read in place keep their bytes after their segments are gone", Fixture,
                   brook_test::DiskStore, brook_test::DiskStoreMappedReads,
                   brook_test::MemoryStore) {
    Fixture fixture;
    // Compaction runs only where the test says, not on the background thread.
    Options options;
    options.background_maintenance = false;
    auto store = fixture.open(options);
    brook_test::create_topic(*store, "events", 1,
                             {{"segment.bytes", "16384"},
                              {"cleanup.policy", "compact,delete"},
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

TEST_CASE_TEMPLATE("a consumer reading while a producer appends sees every record once", Fixture,
                   brook_test::DiskStore, brook_test::DiskStoreMappedReads,
                   brook_test::MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    brook_test::create_topic(*store, "events", 1, {{"segment.bytes", "65536"}});
    constexpr int kCount = 20000;
    std::thread writer([&] {
        auto producer = brook_test::make_producer(*store, {{"linger.ms", "0"}});
        for (int from = 0; from < kCount; from += 500)
            produce_range(*producer, "events", from, from + 500);
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

TEST_CASE_TEMPLATE("records of every shape come back as produced, compressed or not", Fixture,
                   brook_test::DiskStore, brook_test::DiskStoreMappedReads,
                   brook_test::MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    brook_test::create_topic(*store, "mixed", 1, {{"segment.bytes", "200000"}});
    // Batches decoded by the common-shape path (short keys and values, no headers) and by the
    // general one (headers, values whose length takes three varint bytes, zstd batches),
    // alternating, so that one read holds both kinds.
    struct Expected {
        std::optional<std::string> key;
        std::optional<std::string> value;
        Headers headers;
    };
    std::vector<Expected> expected;
    auto plain = brook_test::make_producer(*store, {{"linger.ms", "5"}});
    auto zstd =
        brook_test::make_producer(*store, {{"linger.ms", "5"}, {"compression.type", "zstd"}});
    for (int round = 0; round < 40; ++round) {
        Producer& producer = round % 3 == 2 ? *zstd : *plain;
        for (int i = 0; i < 50; ++i) {
            const int n = round * 50 + i;
            Expected e;
            if (n % 7 != 0) e.key = "k" + std::to_string(n);
            if (n % 11 != 0) {
                const std::size_t size = round % 4 == 1 && i % 5 == 0 ? 9000 + n : n % 200;
                e.value = std::string(size, char('a' + n % 26));
            }
            if (round % 5 == 3 && i % 2 == 0) e.headers = {{"h", "v" + std::to_string(n)}};
            ProducerRecord record;
            record.topic = "mixed";
            record.partition = PartitionId(0);
            record.key = e.key;
            record.value = e.value;
            record.headers = e.headers;
            REQUIRE(producer.produce(std::move(record)).is_ok());
            expected.push_back(std::move(e));
        }
        REQUIRE(producer.flush().is_ok());
    }
    for (const char* fetch_bytes : {"1", "5000", "1048576"}) {
        CAPTURE(fetch_bytes);
        auto consumer = Consumer::create(*store, {{"max.partition.fetch.bytes", fetch_bytes}});
        REQUIRE(consumer.is_ok());
        REQUIRE((*consumer)->assign({{"mixed", PartitionId(0), Offset(0)}}).is_ok());
        std::size_t next = 0;
        while (next < expected.size()) {
            std::vector<Message> batch = (*consumer)->consume(1 + next % 333, 5s);
            REQUIRE_MESSAGE(!batch.empty(), "stopped at ", next);
            for (const Message& m : batch) {
                REQUIRE_MESSAGE(m.error().is_ok(), m.error().to_string());
                const Expected& e = expected.at(next);
                CHECK(m.offset() == Offset(static_cast<std::int64_t>(next)));
                CHECK(m.key() == (e.key ? std::optional<std::string_view>(*e.key) : std::nullopt));
                CHECK(m.value() ==
                      (e.value ? std::optional<std::string_view>(*e.value) : std::nullopt));
                CHECK(m.headers() == e.headers);
                ++next;
            }
        }
        CHECK((*consumer)->consume(10, 0ms).empty());
    }
}

TEST_CASE("a damaged byte in a value of a common-shape batch is reported, not handed out") {
    brook_test::DiskStore fixture;
    {
        auto store = fixture.open();
        brook_test::create_topic(*store, "plain", 1, {});
        auto producer = brook_test::make_producer(*store, {});
        for (int i = 0; i < 100; ++i) {
            ProducerRecord record;
            record.topic = "plain";
            record.partition = PartitionId(0);
            record.key = "k-" + std::to_string(i);
            record.value = "payload-" + std::to_string(1000 + i);
            REQUIRE(producer->produce(std::move(record)).is_ok());
        }
        REQUIRE(producer->flush().is_ok());
    }
    // A byte inside one value changes after a clean close: every length still fits, so the
    // records keep the shape the fast decoder takes, and only the checksum can tell.
    bool damaged = false;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(fixture.path)) {
        if (entry.path().extension() != ".log") continue;
        std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        const auto at = bytes.find("payload-1050");
        if (at == std::string::npos) continue;
        file.seekp(static_cast<std::streamoff>(at));
        file.put('q');
        damaged = true;
    }
    REQUIRE(damaged);

    auto store = fixture.open();
    auto consumer = consumer_from_start(*store, "plain");
    bool corruption = false;
    for (int polls = 0; polls < 100 && !corruption; ++polls) {
        for (const Message& m : consumer->consume(500, 100ms)) {
            if (!m.error().is_ok()) {
                CHECK(m.error().code() == Code::corruption);
                corruption = true;
                break;
            }
            CHECK(m.value()->find("qayload") == std::string_view::npos);
        }
    }
    CHECK(corruption);
}

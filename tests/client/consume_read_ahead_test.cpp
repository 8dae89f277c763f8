// enable.read.ahead: a consumer scanning a partition has its next read done on a background
// thread while it hands out the current one. Reading ahead may change when bytes are copied,
// never what comes back: a consumer must return exactly the records produced, in order, from
// wherever it was assigned or seeked to, with or without reading ahead, while the log grows
// between calls, and must report a topic deleted while a read was done ahead as not_found.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "api_env.hpp"

using namespace brook;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTopic = "scan";

// What record `n` holds: a key but every 13th, a value whose size cycles from 1 to 300 bytes.
std::optional<std::string> key_of(std::int64_t n) {
    if (n % 13 == 0) return std::nullopt;
    return "k" + std::to_string(n);
}
std::string value_of(std::int64_t n) {
    return std::string(static_cast<std::size_t>(1 + n * 7 % 300), char('a' + n % 26));
}

// Produces records [first, first + count) in batches of `per_batch`, each flushed.
void produce_range(Producer& producer, std::int64_t first, std::int64_t count, int per_batch) {
    for (std::int64_t n = first; n < first + count; ++n) {
        ProducerRecord record;
        record.topic = kTopic;
        record.partition = PartitionId(0);
        record.key = key_of(n);
        record.value = value_of(n);
        REQUIRE(producer.produce(record).is_ok());
        if ((n + 1) % per_batch == 0) REQUIRE(producer.flush().is_ok());
    }
    REQUIRE(producer.flush().is_ok());
}

std::unique_ptr<Consumer> consumer_for(const Store& store, bool read_ahead,
                                       const char* fetch_bytes) {
    auto consumer = Consumer::create(store, {{"auto.offset.reset", "earliest"},
                                             {"enable.read.ahead", read_ahead ? "true" : "false"},
                                             {"max.partition.fetch.bytes", fetch_bytes}});
    REQUIRE_MESSAGE(consumer.is_ok(), consumer.status().to_string());
    REQUIRE((*consumer)->assign({{kTopic, PartitionId(0), kOffsetBeginning}}).is_ok());
    return std::move(consumer).value();
}

// Takes up to `n` messages (poll() when n is 1) and checks each against the model: the next
// offset expected, its key and value. Advances `next` past them.
// @return how many came back.
std::size_t take_checked(Consumer& consumer, std::size_t n, std::int64_t& next) {
    std::vector<Message> got;
    if (n == 1) {
        if (std::optional<Message> m = consumer.poll(0ms)) got.push_back(std::move(*m));
    } else {
        got = consumer.consume(n, 0ms);
    }
    CHECK(got.size() <= n);
    for (const Message& m : got) {
        REQUIRE_MESSAGE(m.error().is_ok(), m.error().to_string());
        REQUIRE(m.offset() == Offset(next));
        CHECK(m.key() == key_of(next));
        CHECK(m.value() == std::optional<std::string_view>(value_of(next)));
        ++next;
    }
    return got.size();
}

// Reads until the consumer has nothing more, checking every message; returns the next offset.
std::int64_t drain_checked(Consumer& consumer, std::size_t n, std::int64_t next) {
    while (take_checked(consumer, n, next) > 0) {
    }
    return next;
}

}  // namespace

TEST_CASE_TEMPLATE("a scan returns the records produced, in order, with or without reading ahead",
                   Fixture, brook_test::DiskStore, brook_test::DiskStoreMappedReads,
                   brook_test::MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    brook_test::create_topic(*store, kTopic, 1, {{"segment.bytes", "40000"}});
    auto producer = brook_test::make_producer(*store, {{"linger.ms", "1000"}});
    constexpr std::int64_t kRecords = 3000;
    produce_range(*producer, 0, kRecords, 37);

    for (const bool read_ahead : {true, false}) {
        // One batch per read, a few batches per read, and the whole of a segment.
        for (const char* fetch_bytes : {"1", "2000", "1048576"}) {
            for (const std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
                CAPTURE(read_ahead);
                CAPTURE(fetch_bytes);
                CAPTURE(n);
                auto consumer = consumer_for(*store, read_ahead, fetch_bytes);
                CHECK(drain_checked(*consumer, n, 0) == kRecords);

                // Seeks during a scan: back, forward past what was read ahead, and to exactly
                // where the scan stands (keeping a read done ahead valid).
                auto seeking = consumer_for(*store, read_ahead, fetch_bytes);
                std::int64_t next = 0;
                for (const std::int64_t target :
                     {std::int64_t{10}, std::int64_t{2500}, std::int64_t{-1}, std::int64_t{1200}}) {
                    for (int call = 0; call < 30; ++call) take_checked(*seeking, n, next);
                    const std::int64_t to = target < 0 ? next : target;
                    REQUIRE(seeking->seek({kTopic, PartitionId(0), Offset(to)}).is_ok());
                    next = to;
                }
                CHECK(drain_checked(*seeking, n, next) == kRecords);
            }
        }
    }
}

TEST_CASE("records appended between a consumer's calls are read ahead and returned once each") {
    brook_test::DiskStore fixture;
    auto store = fixture.open();
    brook_test::create_topic(*store, kTopic, 1, {{"segment.bytes", "30000"}});
    auto producer = brook_test::make_producer(*store, {{"linger.ms", "1000"}});
    for (const bool read_ahead : {true, false}) {
        CAPTURE(read_ahead);
        auto consumer = consumer_for(*store, read_ahead, "1500");
        std::int64_t produced = 0;
        std::int64_t next = 0;
        for (int round = 0; round < 40; ++round) {
            // Some rounds catch up with the log end, others stop in the middle of it.
            produce_range(*producer, produced, 25 + round * 11 % 90, 1 + round % 9);
            produced += 25 + round * 11 % 90;
            for (int call = 0; call < 1 + round % 4; ++call) take_checked(*consumer, 17, next);
        }
        CHECK(drain_checked(*consumer, 17, next) == produced);
        produce_range(*producer, produced, 1, 1);
        CHECK(drain_checked(*consumer, 17, produced) == produced + 1);
        REQUIRE(store->delete_topic(kTopic).is_ok());
        brook_test::create_topic(*store, kTopic, 1, {{"segment.bytes", "30000"}});
    }
}

TEST_CASE_TEMPLATE("a topic deleted during a scan ends it with not_found, as without reading ahead",
                   Fixture, brook_test::DiskStore, brook_test::MemoryStore) {
    for (const bool read_ahead : {true, false}) {
        CAPTURE(read_ahead);
        Fixture fixture;
        auto store = fixture.open();
        brook_test::create_topic(*store, kTopic, 1, {{"segment.bytes", "20000"}});
        auto producer = brook_test::make_producer(*store, {{"linger.ms", "1000"}});
        produce_range(*producer, 0, 2000, 50);
        auto consumer = consumer_for(*store, read_ahead, "3000");
        std::int64_t next = 0;
        // Two reads in a row: the third is being read ahead.
        for (int call = 0; call < 4; ++call) take_checked(*consumer, 10, next);
        REQUIRE(next == 40);
        REQUIRE(store->delete_topic(kTopic).is_ok());
        // The rest of the current read may still come; then the deletion.
        std::optional<Message> last;
        for (int i = 0; i < 2000; ++i) {
            last = consumer->poll(0ms);
            if (!last || !last->error().is_ok()) break;
            REQUIRE(last->offset() == Offset(next));
            ++next;
        }
        REQUIRE(last.has_value());
        CHECK(last->error() == Code::not_found);
        CHECK(next < 2000);
        CHECK(consumer->assignment().empty());
    }
}

TEST_CASE("enable.read.ahead takes true or false only") {
    auto store = brook_test::MemoryStore().open();
    for (const char* bad : {"yes", "1", "", "TRUE"}) {
        CAPTURE(bad);
        auto consumer = Consumer::create(*store, {{"enable.read.ahead", bad}});
        REQUIRE_FALSE(consumer.is_ok());
        CHECK(consumer.status() == Code::invalid_argument);
        CHECK(consumer.status().message().find("enable.read.ahead") != std::string::npos);
    }
    CHECK(Consumer::create(*store, {{"enable.read.ahead", "false"}}).is_ok());
}

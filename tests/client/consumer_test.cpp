// Tests for Consumer through the public API, on an in-memory store and on a store in a fresh
// directory: consuming everything produced (compared with a model built from delivery
// reports), positions, seeks, pause and resume, auto.offset.reset, watermarks and
// offsets_for_times, null keys and values and headers, wakeup and blocking polls, config
// and assignment errors, a deleted topic, and reopening a store.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <brook/brook.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api_env.hpp"

using namespace brook;
using namespace std::chrono_literals;
using brook_test::create_topic;
using brook_test::make_producer;

namespace {

// A store in memory.
struct MemoryFixture {
    Result<std::unique_ptr<Store>> open(Options options = {}) {
        return Store::open_in_memory(std::move(options));
    }
};

// A store in a fresh directory under $TMPDIR (or /tmp), removed afterwards.
struct DiskFixture {
    DiskFixture() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/brook-cons-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir = pattern;
    }
    ~DiskFixture() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    DiskFixture(const DiskFixture&) = delete;
    DiskFixture& operator=(const DiskFixture&) = delete;

    Result<std::unique_ptr<Store>> open(Options options = {}) {
        return Store::open(dir, std::move(options));
    }

    std::string dir;
};

// What a consumer should return for one record.
struct Expected {
    Offset offset;
    std::optional<std::string> key;
    std::optional<std::string> value;
    Headers headers;
    std::int64_t timestamp = 0;
};

template <typename F>
std::unique_ptr<Store> open_store(F& fixture, Options options = {}) {
    auto store = fixture.open(std::move(options));
    REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
    return std::move(store).value();
}

std::unique_ptr<Consumer> make_consumer(const Store& store, const Config& config = {}) {
    auto consumer = Consumer::create(store, config);
    REQUIRE_MESSAGE(consumer.is_ok(), consumer.status().to_string());
    return std::move(consumer).value();
}

DeliveryReport produce(Producer& producer, ProducerRecord record) {
    auto report = producer.produce_sync(std::move(record));
    REQUIRE_MESSAGE(report.is_ok(), report.status().to_string());
    REQUIRE(report->error.is_ok());
    return std::move(report).value();
}

// A record for `topic`, by default for its partition 0.
ProducerRecord record_for(const std::string& topic, std::optional<std::string> key,
                          std::optional<std::string> value,
                          std::optional<PartitionId> partition = PartitionId(0)) {
    ProducerRecord record;
    record.topic = topic;
    record.key = std::move(key);
    record.value = std::move(value);
    record.partition = partition;
    return record;
}

// Produces `count` records "k<i>" / "v<i>" to partition `partition` of `topic`.
void produce_n(Producer& producer, const std::string& topic, int partition, int count) {
    for (int i = 0; i < count; ++i) {
        produce(producer, record_for(topic, "k" + std::to_string(i), "v" + std::to_string(i),
                                     PartitionId(partition)));
    }
}

TopicPartitionOffset tpo(const std::string& topic, int partition, Offset offset) {
    return {topic, PartitionId(partition), offset};
}

TopicPartition tp(const std::string& topic, int partition) {
    return {topic, PartitionId(partition)};
}

// Polls until `count` messages have arrived; each one is already stored, so a poll that waits
// its whole 5 s liveness bound means a message was lost.
std::vector<Message> poll_n(Consumer& consumer, std::size_t count) {
    std::vector<Message> out;
    while (out.size() < count) {
        auto message = consumer.poll(5s);
        REQUIRE_MESSAGE(message.has_value(), "got only ", out.size(), " of ", count);
        REQUIRE_MESSAGE(message->error().is_ok(), message->error().to_string());
        out.push_back(std::move(*message));
    }
    return out;
}

// The message a poll returns now, which must be a record.
Message poll_record(Consumer& consumer) {
    return poll_n(consumer, 1).front();
}

Offset position_of(const Consumer& consumer, const std::string& topic, int partition) {
    auto positions = consumer.position({tp(topic, partition)});
    REQUIRE(positions.is_ok());
    REQUIRE(positions->size() == 1);
    return positions->front().offset;
}

void check_matches(const Message& message, const Expected& expected) {
    CHECK(message.offset() == expected.offset);
    CHECK(message.key() == expected.key);
    CHECK(message.value() == expected.value);
    CHECK(message.headers() == expected.headers);
    CHECK(message.timestamp() == expected.timestamp);
    CHECK(message.timestamp_type() == TimestampType::create_time);
}

}  // namespace

TEST_CASE_TEMPLATE("consuming every partition returns exactly the produced records", F,
                   MemoryFixture, DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "events", 3);
    auto producer = make_producer(*store);

    // Records spread by key across the partitions; the model is built from delivery reports.
    std::map<std::int32_t, std::vector<Expected>> model;
    for (int i = 0; i < 300; ++i) {
        ProducerRecord record = record_for("events", "key-" + std::to_string(i),
                                           "value-" + std::to_string(i), std::nullopt);
        if (i % 7 == 0) record.headers = {{"n", std::to_string(i)}, {"empty", std::nullopt}};
        auto callback = [&model, record](const DeliveryReport& report) {
            REQUIRE(report.error.is_ok());
            model[report.partition.value()].push_back(
                {report.offset, record.key, record.value, record.headers, report.timestamp});
        };
        REQUIRE(producer->produce(std::move(record), callback).is_ok());
    }
    REQUIRE(producer->flush(10s).is_ok());
    REQUIRE(model.size() == 3);

    auto consumer = make_consumer(*store);
    REQUIRE(consumer
                ->assign({tpo("events", 0, kOffsetBeginning), tpo("events", 1, kOffsetBeginning),
                          tpo("events", 2, kOffsetBeginning)})
                .is_ok());

    // Round-robin: the first three polls serve three different partitions.
    std::vector<Message> got = poll_n(*consumer, 3);
    std::set<std::int32_t> first_partitions;
    for (const auto& m : got) first_partitions.insert(m.partition().value());
    CHECK(first_partitions.size() == 3);

    while (got.size() < 300) {
        auto batch = consumer->consume(64, 5s);
        REQUIRE(!batch.empty());
        for (auto& m : batch) {
            REQUIRE_MESSAGE(m.error().is_ok(), m.error().to_string());
            got.push_back(std::move(m));
        }
    }
    CHECK(got.size() == 300);
    CHECK_FALSE(consumer->poll(0ms).has_value());

    std::map<std::int32_t, std::vector<Message>> by_partition;
    for (auto& m : got) {
        CHECK(m.topic() == "events");
        by_partition[m.partition().value()].push_back(std::move(m));
    }
    for (auto& [partition, expected] : model) {
        std::sort(expected.begin(), expected.end(),
                  [](const Expected& a, const Expected& b) { return a.offset < b.offset; });
        const auto& messages = by_partition[partition];
        REQUIRE(messages.size() == expected.size());
        for (std::size_t i = 0; i < messages.size(); ++i) {
            CHECK(expected[i].offset == Offset(static_cast<std::int64_t>(i)));  // no gaps
            check_matches(messages[i], expected[i]);
        }
        CHECK(position_of(*consumer, "events", partition) ==
              Offset(static_cast<std::int64_t>(expected.size())));
    }
}

TEST_CASE_TEMPLATE("explicit offsets, kOffsetEnd, seek and position", F, MemoryFixture,
                   DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "t", 1);
    auto producer = make_producer(*store);
    produce_n(*producer, "t", 0, 10);
    auto consumer = make_consumer(*store);

    REQUIRE(consumer->assign({tpo("t", 0, Offset(4))}).is_ok());
    CHECK(position_of(*consumer, "t", 0) == Offset(4));
    Message m = poll_record(*consumer);
    CHECK(m.offset() == Offset(4));
    CHECK(m.key() == std::optional<std::string_view>("k4"));
    CHECK(position_of(*consumer, "t", 0) == Offset(5));

    // kOffsetEnd returns only records produced afterwards.
    REQUIRE(consumer->assign({tpo("t", 0, kOffsetEnd)}).is_ok());
    CHECK(position_of(*consumer, "t", 0) == Offset(10));
    CHECK_FALSE(consumer->poll(0ms).has_value());
    produce(*producer, record_for("t", std::nullopt, "new"));
    m = poll_record(*consumer);
    CHECK(m.offset() == Offset(10));
    CHECK(m.value() == std::optional<std::string_view>("new"));

    REQUIRE(consumer->seek(tpo("t", 0, Offset(2))).is_ok());
    CHECK(position_of(*consumer, "t", 0) == Offset(2));
    CHECK(poll_record(*consumer).offset() == Offset(2));
    REQUIRE(consumer->seek(tpo("t", 0, kOffsetBeginning)).is_ok());
    CHECK(poll_record(*consumer).offset() == Offset(0));
    REQUIRE(consumer->seek(tpo("t", 0, kOffsetEnd)).is_ok());
    CHECK(position_of(*consumer, "t", 0) == Offset(11));

    CHECK(consumer->seek(tpo("t", 1, Offset(0))) == Code::invalid_argument);
    CHECK(consumer->seek(tpo("other", 0, Offset(0))) == Code::invalid_argument);
    CHECK(position_of(*consumer, "other", 0) == kOffsetInvalid);

    REQUIRE(consumer->unassign().is_ok());
    CHECK(consumer->assignment().empty());
    CHECK_FALSE(consumer->poll(0ms).has_value());
}

TEST_CASE_TEMPLATE("a paused partition returns nothing and resumes where it was", F, MemoryFixture,
                   DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "t", 2);
    auto producer = make_producer(*store);
    produce_n(*producer, "t", 0, 5);
    produce_n(*producer, "t", 1, 5);
    auto consumer = make_consumer(*store);
    REQUIRE(
        consumer->assign({tpo("t", 0, kOffsetBeginning), tpo("t", 1, kOffsetBeginning)}).is_ok());

    // Take one record of partition 0, so the rest sits in its buffer while it is paused.
    Message first = poll_record(*consumer);
    REQUIRE(first.partition() == PartitionId(0));
    REQUIRE(consumer->pause({tp("t", 0)}).is_ok());
    for (const auto& m : poll_n(*consumer, 5)) CHECK(m.partition() == PartitionId(1));
    CHECK_FALSE(consumer->poll(0ms).has_value());
    CHECK(position_of(*consumer, "t", 0) == Offset(1));

    CHECK(consumer->pause({tp("t", 0), tp("t", 7)}) == Code::invalid_argument);
    REQUIRE(consumer->resume({tp("t", 0)}).is_ok());
    auto rest = poll_n(*consumer, 4);
    for (std::size_t i = 0; i < rest.size(); ++i) {
        CHECK(rest[i].partition() == PartitionId(0));
        CHECK(rest[i].offset() == Offset(static_cast<std::int64_t>(i + 1)));
    }
    CHECK_FALSE(consumer->poll(0ms).has_value());
}

TEST_CASE_TEMPLATE("auto.offset.reset for an unknown position and one beyond the end", F,
                   MemoryFixture, DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "t", 1);
    auto producer = make_producer(*store);
    produce_n(*producer, "t", 0, 5);

    // Each subcase starts with no position, and then with one beyond the log end.
    const std::vector<Offset> starts{kOffsetInvalid, Offset(100)};
    SUBCASE("earliest and its aliases") {
        for (const Offset start : starts) {
            for (const char* value : {"earliest", "smallest", "beginning"}) {
                CAPTURE(start.value());
                CAPTURE(value);
                auto consumer = make_consumer(*store, {{"auto.offset.reset", value}});
                REQUIRE(consumer->assign({tpo("t", 0, start)}).is_ok());
                CHECK(poll_record(*consumer).offset() == Offset(0));
            }
        }
    }
    SUBCASE("latest (the default) and its aliases") {
        for (const Offset start : starts) {
            for (const char* value : {"", "latest", "largest", "end"}) {
                CAPTURE(start.value());
                CAPTURE(value);
                Config config;
                if (*value != '\0') config["auto.offset.reset"] = value;
                auto consumer = make_consumer(*store, config);
                REQUIRE(consumer->assign({tpo("t", 0, start)}).is_ok());
                // The position is resolved by the first fetch.
                CHECK(position_of(*consumer, "t", 0) == start);
                CHECK_FALSE(consumer->poll(0ms).has_value());
                const auto end = store->describe_topic("t");
                REQUIRE(end.is_ok());
                CHECK(position_of(*consumer, "t", 0) == end->partitions[0].log_end_offset);
                const auto report = produce(*producer, record_for("t", std::nullopt, "after"));
                CHECK(poll_record(*consumer).offset() == report.offset);
            }
        }
    }
    SUBCASE("none reports offset_out_of_range once, until seek") {
        for (const Offset start : starts) {
            CAPTURE(start.value());
            auto consumer = make_consumer(*store, {{"auto.offset.reset", "none"}});
            REQUIRE(consumer->assign({tpo("t", 0, start)}).is_ok());
            auto error = consumer->poll(0ms);
            REQUIRE(error.has_value());
            CHECK(error->error() == Code::offset_out_of_range);
            CHECK(error->topic() == "t");
            CHECK(error->partition() == PartitionId(0));
            CHECK_FALSE(consumer->poll(0ms).has_value());
            REQUIRE(consumer->seek(tpo("t", 0, Offset(3))).is_ok());
            CHECK(poll_record(*consumer).offset() == Offset(3));
        }
    }
}

TEST_CASE_TEMPLATE("watermarks and offsets_for_times match a brute-force search", F, MemoryFixture,
                   DiskFixture) {
    F fixture;
    auto clock = std::make_shared<ManualClock>(50'000);
    Options options;
    options.clock = clock;
    auto store = open_store(fixture, options);
    create_topic(*store, "t", 2);
    auto producer = make_producer(*store);

    // Timestamps out of order, repeated, and some taken from the clock.
    const std::vector<std::optional<std::int64_t>> stamps{
        1'000, 1'005, 1'003, std::nullopt, 1'010, 1'010, 990, std::nullopt, 1'020, 1'015};
    std::vector<std::int64_t> timestamps;
    for (std::size_t i = 0; i < stamps.size(); ++i) {
        clock->set_ms(1'007 + static_cast<std::int64_t>(i));
        ProducerRecord record = record_for("t", std::nullopt, "v");
        record.timestamp = stamps[i];
        const auto report = produce(*producer, std::move(record));
        CHECK(report.offset == Offset(static_cast<std::int64_t>(i)));
        CHECK(report.timestamp == stamps[i].value_or(clock->now_ms()));
        timestamps.push_back(report.timestamp);
    }

    auto consumer = make_consumer(*store);
    auto marks = consumer->get_watermark_offsets(tp("t", 0));
    REQUIRE(marks.is_ok());
    CHECK(marks->low == Offset(0));
    CHECK(marks->high == Offset(static_cast<std::int64_t>(stamps.size())));
    marks = consumer->get_watermark_offsets(tp("t", 1));
    REQUIRE(marks.is_ok());
    CHECK(marks->low == Offset(0));
    CHECK(marks->high == Offset(0));
    CHECK(consumer->get_watermark_offsets(tp("t", 2)).code() == Code::not_found);
    CHECK(consumer->get_watermark_offsets(tp("missing", 0)).code() == Code::not_found);

    for (std::int64_t ts = 980; ts <= 1'030; ++ts) {
        CAPTURE(ts);
        Offset expected = kOffsetEnd;
        for (std::size_t i = 0; i < timestamps.size(); ++i) {
            if (timestamps[i] >= ts) {
                expected = Offset(static_cast<std::int64_t>(i));
                break;
            }
        }
        auto found =
            consumer->offsets_for_times({{"t", PartitionId(0), ts}, {"t", PartitionId(1), ts}});
        REQUIRE(found.is_ok());
        REQUIRE(found->size() == 2);
        CHECK((*found)[0] == tpo("t", 0, expected));
        CHECK((*found)[1] == tpo("t", 1, kOffsetEnd));
    }
    CHECK(consumer->offsets_for_times({{"missing", PartitionId(0), 0}}).code() == Code::not_found);

    // The records carry the same timestamps.
    REQUIRE(consumer->assign({tpo("t", 0, kOffsetBeginning)}).is_ok());
    const auto messages = poll_n(*consumer, timestamps.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
        CHECK(messages[i].timestamp() == timestamps[i]);
    }
}

TEST_CASE_TEMPLATE("null keys, tombstones and headers round trip", F, MemoryFixture, DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "t", 1);
    auto producer = make_producer(*store);

    const std::string binary("a\0b\xff", 4);
    std::vector<ProducerRecord> records{
        record_for("t", std::nullopt, "no key"),
        record_for("t", "tombstone", std::nullopt),
        record_for("t", std::nullopt, std::nullopt),
        record_for("t", "", ""),
        record_for("t", binary, binary),
    };
    records.back().headers = {
        {"h", "1"}, {"h", "2"}, {"null", std::nullopt}, {"", ""}, {"bin", binary}};
    for (const auto& record : records) produce(*producer, record);

    auto consumer = make_consumer(*store);
    REQUIRE(consumer->assign({tpo("t", 0, kOffsetBeginning)}).is_ok());
    const auto messages = poll_n(*consumer, records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        CAPTURE(i);
        CHECK(messages[i].key() == records[i].key);
        CHECK(messages[i].value() == records[i].value);
        CHECK(messages[i].headers() == records[i].headers);
        CHECK(messages[i].key().has_value() == records[i].key.has_value());
        CHECK(messages[i].value().has_value() == records[i].value.has_value());
    }
}

TEST_CASE_TEMPLATE("messages keep their bytes after later reads, seeks and the consumer's end", F,
                   MemoryFixture, DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "t", 1);
    auto producer = make_producer(*store);
    constexpr int kCount = 300;
    // Values of varied sizes, so that a small fetch size splits them over many reads.
    const auto value_of = [](int i) {
        return std::string(static_cast<std::size_t>(i % 97), char('a' + i % 26));
    };
    for (int i = 0; i < kCount; ++i) {
        produce(*producer, record_for("t", "k" + std::to_string(i), value_of(i)));
    }

    std::vector<Message> kept;
    std::vector<Message> copies;
    {
        auto consumer = make_consumer(*store, {{"max.partition.fetch.bytes", "200"}});
        REQUIRE(consumer->assign({tpo("t", 0, kOffsetBeginning)}).is_ok());
        kept = poll_n(*consumer, kCount / 2);
        // A seek back drops the buffered records; the messages already returned stay whole.
        REQUIRE(consumer->seek(tpo("t", 0, Offset(0))).is_ok());
        for (Message& m : poll_n(*consumer, kCount)) copies.push_back(m);
    }
    REQUIRE(kept.size() == kCount / 2);
    REQUIRE(copies.size() == kCount);
    for (int i = 0; i < kCount; ++i) {
        CAPTURE(i);
        const auto at = static_cast<std::size_t>(i);
        const std::string key = "k" + std::to_string(i);
        const std::string value = value_of(i);
        CHECK(copies[at].offset() == Offset(i));
        CHECK(copies[at].key() == std::optional<std::string_view>(key));
        CHECK(copies[at].value() == std::optional<std::string_view>(value));
        if (i < kCount / 2) CHECK(kept[at].value() == std::optional<std::string_view>(value));
    }
    // An assigned-over copy keeps its own bytes.
    Message first = copies.front();
    copies.clear();
    kept.clear();
    CHECK(first.value() == std::optional<std::string_view>(value_of(0)));
}

TEST_CASE_TEMPLATE("a blocked poll wakes for a new record, wakeup() and close()", F, MemoryFixture,
                   DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "t", 1);
    auto producer = make_producer(*store);
    auto consumer = make_consumer(*store);
    REQUIRE(consumer->assign({tpo("t", 0, kOffsetEnd)}).is_ok());

    // Each case starts a poll with a 10 s timeout in a thread and then acts from this one. If
    // the action lands before the poll blocks, the poll returns at once all the same. The 5 s
    // bound only detects a poll that was never woken.
    auto blocked_poll = [&](auto act) {
        std::optional<Message> got;
        std::chrono::steady_clock::duration took{};
        std::thread poller([&] {
            const auto start = std::chrono::steady_clock::now();
            got = consumer->poll(10s);
            took = std::chrono::steady_clock::now() - start;
        });
        act();
        poller.join();
        CHECK(took < 5s);
        return got;
    };

    SUBCASE("a record arrives") {
        auto got = blocked_poll([&] { produce(*producer, record_for("t", std::nullopt, "wake")); });
        REQUIRE(got.has_value());
        CHECK(got->error().is_ok());
        CHECK(got->value() == std::optional<std::string_view>("wake"));
    }
    SUBCASE("consume waits for the first record") {
        std::vector<Message> got;
        std::thread poller([&] { got = consumer->consume(10, 10s); });
        produce(*producer, record_for("t", std::nullopt, "wake"));
        poller.join();
        REQUIRE(!got.empty());
        CHECK(got.front().value() == std::optional<std::string_view>("wake"));
    }
    SUBCASE("wakeup") {
        CHECK_FALSE(blocked_poll([&] { consumer->wakeup(); }).has_value());
        // The flag was cleared: the next poll returns a record.
        produce(*producer, record_for("t", std::nullopt, "after"));
        CHECK(poll_record(*consumer).value() == std::optional<std::string_view>("after"));
    }
    SUBCASE("close") {
        CHECK_FALSE(blocked_poll([&] { REQUIRE(consumer->close().is_ok()); }).has_value());
        produce(*producer, record_for("t", std::nullopt, "after"));
        CHECK_FALSE(consumer->poll(0ms).has_value());
        CHECK(consumer->consume(10, 0ms).empty());
        CHECK(consumer->assignment().empty());
        CHECK(consumer->assign({tpo("t", 0, kOffsetBeginning)}) == Code::closed);
        CHECK(consumer->seek(tpo("t", 0, Offset(0))) == Code::closed);
        CHECK(consumer->position({tp("t", 0)}).code() == Code::closed);
        CHECK(consumer->get_watermark_offsets(tp("t", 0)).code() == Code::closed);
        CHECK(consumer->close() == Code::closed);
    }
}

TEST_CASE_TEMPLATE("consume returns what is available without waiting again", F, MemoryFixture,
                   DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "t", 1);
    auto producer = make_producer(*store);
    produce_n(*producer, "t", 0, 5);
    auto consumer = make_consumer(*store, {{"max.partition.fetch.bytes", "1"}});
    REQUIRE(consumer->assign({tpo("t", 0, kOffsetBeginning)}).is_ok());

    CHECK(consumer->consume(3, 5s).size() == 3);
    const auto rest = consumer->consume(100, 5s);
    REQUIRE(rest.size() == 2);
    CHECK(rest[1].offset() == Offset(4));
    CHECK(consumer->consume(100, 0ms).empty());
    CHECK(consumer->consume(0, 0ms).empty());
}

TEST_CASE_TEMPLATE("bad config and unknown partitions are refused", F, MemoryFixture, DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "t", 2);

    const std::vector<std::pair<std::string, std::string>> bad{
        {"group.id", std::string(201, 'g')}, {"partition.assignment.strategy", "sticky"},
        {"enable.auto.commit", "yes"},       {"max.poll.interval.ms", "0"},
        {"auto.offset.reset", "sometimes"},  {"fetch.wait.max.ms", "-1"},
        {"fetch.wait.max.ms", "1.5"},        {"fetch.wait.max.ms", " 5"},
        {"max.partition.fetch.bytes", "0"},  {"max.partition.fetch.bytes", "99999999999"},
    };
    for (const auto& [key, value] : bad) {
        CAPTURE(key);
        CAPTURE(value);
        auto consumer = Consumer::create(*store, {{key, value}});
        REQUIRE(consumer.code() == Code::invalid_argument);
        CHECK(consumer.status().message().find(key) != std::string::npos);
    }
    CHECK(Consumer::create(*store, {{"client.id", "anything at all"},
                                    {"fetch.wait.max.ms", "0"},
                                    {"max.partition.fetch.bytes", "1"}})
              .is_ok());

    auto consumer = make_consumer(*store);
    REQUIRE(consumer->assign({tpo("t", 1, kOffsetBeginning)}).is_ok());
    Status missing = consumer->assign({tpo("t", 0, kOffsetBeginning), tpo("nope", 0, Offset(0))});
    CHECK(missing == Code::not_found);
    CHECK(missing.message().find("nope") != std::string::npos);
    CHECK(consumer->assign({tpo("t", 2, Offset(0))}) == Code::not_found);
    // The failed calls left the assignment as it was.
    CHECK(consumer->assignment() == std::vector<TopicPartition>{tp("t", 1)});

    REQUIRE(store->close().is_ok());
    CHECK(Consumer::create(*store).code() == Code::closed);
    CHECK(consumer->assign({tpo("t", 0, kOffsetBeginning)}) == Code::closed);
}

TEST_CASE_TEMPLATE("deleting an assigned topic gives not_found for its partition", F, MemoryFixture,
                   DiskFixture) {
    F fixture;
    auto store = open_store(fixture);
    create_topic(*store, "doomed", 1);
    create_topic(*store, "kept", 1);
    auto producer = make_producer(*store);
    produce_n(*producer, "doomed", 0, 3);
    produce_n(*producer, "kept", 0, 3);
    auto consumer = make_consumer(*store);
    REQUIRE(consumer->assign({tpo("doomed", 0, kOffsetBeginning), tpo("kept", 0, kOffsetBeginning)})
                .is_ok());

    REQUIRE(store->delete_topic("doomed").is_ok());
    auto error = consumer->poll(5s);
    REQUIRE(error.has_value());
    CHECK(error->error() == Code::not_found);
    CHECK(error->topic() == "doomed");
    CHECK(consumer->assignment() == std::vector<TopicPartition>{tp("kept", 0)});
    for (const auto& m : poll_n(*consumer, 3)) CHECK(m.topic() == "kept");
    CHECK_FALSE(consumer->poll(0ms).has_value());
}

TEST_CASE("a reopened store returns the same records, also read-only") {
    DiskFixture fixture;
    std::vector<Expected> expected;
    {
        auto store = open_store(fixture);
        create_topic(*store, "t", 1);
        auto producer = make_producer(*store);
        for (int i = 0; i < 50; ++i) {
            ProducerRecord record =
                record_for("t", i % 5 == 0 ? std::nullopt : std::optional("k" + std::to_string(i)),
                           std::string(static_cast<std::size_t>(i) * 37, 'x'));
            record.headers = {{"i", std::to_string(i)}};
            const auto report = produce(*producer, record);
            expected.push_back(
                {report.offset, record.key, record.value, record.headers, report.timestamp});
        }
        producer.reset();
        REQUIRE(store->close().is_ok());
    }
    for (const bool read_only : {false, true}) {
        CAPTURE(read_only);
        Options options;
        options.read_only = read_only;
        auto store = open_store(fixture, options);
        auto consumer = make_consumer(*store);
        REQUIRE(consumer->assign({tpo("t", 0, kOffsetBeginning)}).is_ok());
        const auto messages = poll_n(*consumer, expected.size());
        for (std::size_t i = 0; i < messages.size(); ++i) check_matches(messages[i], expected[i]);
        CHECK_FALSE(consumer->poll(0ms).has_value());
        REQUIRE(store->close().is_ok());
    }
}

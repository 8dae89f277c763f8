// Tests for Producer::produce() from the caller's bytes (topic, partition, key, value,
// timestamp and headers as views, copied during the call), through the public API on an
// in-memory store and on disk. Each is checked against produce(ProducerRecord), the general
// path, and against a model of the records: the same records with the same reports, offsets
// and stored bytes, over interleaved topics and partitions (the producer remembers the last
// partition it wrote to) and flushes; the same errors for every bad record, and the same
// max.message.bytes boundary; and many threads producing while topics are created, which
// invalidates the producer's topic cache.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <brook/brook.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "api_env.hpp"
#include "producer_read_back.hpp"

using namespace brook;
using namespace std::chrono_literals;
using brook_test::create_topic;
using brook_test::DiskStore;
using brook_test::make_producer;
using brook_test::MemoryStore;
using brook_test::read_all;
using brook_test::Stored;

namespace {

// A random record: binary keys and values (zero bytes included), null keys (always with an
// explicit partition, since sticky partitioning is random), tombstones, headers, and
// timestamps from the record or the store clock.
ProducerRecord random_record(std::mt19937& rng, const std::string& topic, std::int32_t partitions) {
    auto bytes = [&](std::size_t n) {
        std::string s(n, '\0');
        for (char& c : s) c = static_cast<char>(rng() % 256);
        return s;
    };
    ProducerRecord r;
    r.topic = topic;
    if (rng() % 4 != 0) r.key = bytes(rng() % 20);
    if (rng() % 5 != 0) r.value = bytes(rng() % 300);
    for (std::uint32_t h = rng() % 3; h > 0; --h) {
        r.headers.push_back({bytes(1 + rng() % 6),
                             rng() % 3 == 0 ? std::nullopt : std::optional(bytes(rng() % 9))});
    }
    if (rng() % 2 == 0) r.timestamp = static_cast<std::int64_t>(rng() % 100000) - 50000;
    if (!r.key || rng() % 3 == 0)
        r.partition = PartitionId(static_cast<std::int32_t>(rng() % partitions));
    return r;
}

// Produces `r` from the caller's bytes: copies of its key, value and headers that are
// scribbled over as soon as produce() returns, as a reused buffer would be.
Status produce_from_buffers(Producer& producer, const ProducerRecord& r,
                            DeliveryCallback callback) {
    std::string key = r.key.value_or("");
    std::string value = r.value.value_or("");
    Headers headers = r.headers;
    const Status status = producer.produce(
        r.topic, r.partition, r.key ? std::optional<std::string_view>(key) : std::nullopt,
        r.value ? std::optional<std::string_view>(value) : std::nullopt, r.timestamp, headers,
        std::move(callback));
    std::fill(key.begin(), key.end(), 'x');
    std::fill(value.begin(), value.end(), 'x');
    for (Header& h : headers) {
        std::fill(h.key.begin(), h.key.end(), 'x');
        if (h.value) std::fill(h.value->begin(), h.value->end(), 'x');
    }
    return status;
}

using Report = std::tuple<std::string, std::int32_t, std::int64_t, std::int64_t>;

}  // namespace

TEST_CASE_TEMPLATE("produce from the caller's bytes stores what produce(ProducerRecord) stores",
                   Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(1'000'000);
    std::unique_ptr<Store> store = fixture.open({.clock = clock});
    const std::map<std::string, std::int32_t> topics = {{"a", 3}, {"b", 2}};
    for (const char* path : {"rec-", "view-"}) {
        for (const auto& [name, partitions] : topics) create_topic(*store, path + name, partitions);
    }
    auto by_record = make_producer(*store);
    auto by_view = make_producer(*store);

    std::mt19937 rng(20261126);
    constexpr int kRecords = 1500;
    std::vector<ProducerRecord> model;
    std::vector<Report> record_reports(kRecords), view_reports(kRecords);
    for (int i = 0; i < kRecords; ++i) {
        // Runs of records to one topic and partition, and switches between them.
        const std::string topic = (i / 7 + static_cast<int>(rng() % 2)) % 2 == 0 ? "a" : "b";
        ProducerRecord r = random_record(rng, topic, topics.at(topic));
        if (i % 97 == 0) clock->advance_ms(13);
        auto report_into = [](Report& out) {
            return [&out](const DeliveryReport& d) {
                REQUIRE_MESSAGE(d.error.is_ok(), d.error.to_string());
                out = {d.topic.substr(d.topic.find('-') + 1), d.partition.value(), d.offset.value(),
                       d.timestamp};
            };
        };
        ProducerRecord general = r;
        general.topic = "rec-" + topic;
        REQUIRE(by_record->produce(general, report_into(record_reports[i])).is_ok());
        ProducerRecord viewed = r;
        viewed.topic = "view-" + topic;
        REQUIRE(produce_from_buffers(*by_view, viewed, report_into(view_reports[i])).is_ok());
        // Flushing empties the producers' partitions, which they then forget.
        if (rng() % 50 == 0) {
            REQUIRE(by_record->flush().is_ok());
            REQUIRE(by_view->flush().is_ok());
        }
        model.push_back(std::move(r));
    }
    REQUIRE(by_record->flush().is_ok());
    REQUIRE(by_view->flush().is_ok());

    // The same reports, record by record.
    CHECK(record_reports == view_reports);
    for (const auto& [name, partitions] : topics) {
        const std::vector<Stored> general = read_all(*store, "rec-" + name, partitions);
        const std::vector<Stored> viewed = read_all(*store, "view-" + name, partitions);
        CHECK(general == viewed);
        // And what the model says: each record, where its report says it is.
        std::map<std::pair<std::int32_t, std::int64_t>, const Stored*> at;
        for (const Stored& s : viewed) at[{s.partition, s.offset}] = &s;
        std::size_t count = 0;
        for (int i = 0; i < kRecords; ++i) {
            if (model[i].topic != name) continue;
            ++count;
            const auto& [topic, partition, offset, timestamp] = view_reports[i];
            const auto it = at.find({partition, offset});
            REQUIRE(it != at.end());
            const Stored& s = *it->second;
            CHECK(s.key == model[i].key);
            CHECK(s.value == model[i].value);
            CHECK(s.headers == model[i].headers);
            CHECK(s.timestamp == timestamp);
            if (model[i].timestamp) CHECK(s.timestamp == *model[i].timestamp);
            if (model[i].partition) CHECK(partition == model[i].partition->value());
        }
        CHECK(viewed.size() == count);
    }
}

TEST_CASE_TEMPLATE("produce from the caller's bytes refuses what produce(ProducerRecord) refuses",
                   Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    std::unique_ptr<Store> store = fixture.open();
    create_topic(*store, "events", 2, {{"max.message.bytes", "1000"}});
    create_topic(*store, "compacted", 1, {{"cleanup.policy", "compact"}});
    auto producer = make_producer(*store);

    auto same_outcome = [&](const ProducerRecord& r) {
        const Status general = producer->produce(r);
        const Status viewed = produce_from_buffers(*producer, r, {});
        CHECK_MESSAGE(general.code() == viewed.code(), general.to_string(), " / ",
                      viewed.to_string());
        return general.code();
    };
    CHECK(same_outcome({.topic = "nope", .value = "v"}) == Code::not_found);
    CHECK(same_outcome({.topic = "events", .value = "v", .partition = PartitionId(2)}) ==
          Code::not_found);
    CHECK(same_outcome({.topic = "events", .value = "v", .partition = PartitionId(-1)}) ==
          Code::not_found);
    CHECK(same_outcome({.topic = "compacted", .value = "v"}) == Code::invalid_argument);
    CHECK(same_outcome({.topic = "compacted", .key = "k", .value = "v"}) == Code::ok);

    // The max.message.bytes boundary: records up to some size are accepted and appended, every
    // larger one is record_too_large, by either path.
    std::optional<std::size_t> first_refused;
    for (std::size_t n = 850; n <= 1000; ++n) {
        const Code code = same_outcome({.topic = "events",
                                        .key = "key",
                                        .value = std::string(n, 'v'),
                                        .headers = {{"h", "x"}},
                                        .partition = PartitionId(0)});
        if (code == Code::ok) {
            CHECK_FALSE(first_refused.has_value());
        } else {
            CHECK(code == Code::record_too_large);
            if (!first_refused) first_refused = n;
        }
    }
    REQUIRE(first_refused.has_value());
    CHECK(*first_refused > 850);
    DeliveryReport last{};
    REQUIRE(producer
                ->produce("events", PartitionId(1), "key", std::string(*first_refused - 1, 'v'),
                          std::nullopt, Headers{{"h", "x"}},
                          [&](const DeliveryReport& r) { last = r; })
                .is_ok());
    REQUIRE(producer->flush().is_ok());
    CHECK_MESSAGE(last.error.is_ok(), last.error.to_string());
    CHECK(last.offset == Offset(0));
    CHECK(producer->outstanding() == 0);
}

TEST_CASE_TEMPLATE(
    "threads producing from their buffers while topics are created: every record once, in order",
    Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    std::unique_ptr<Store> store = fixture.open();
    create_topic(*store, "left", 3);
    create_topic(*store, "right", 2);
    auto producer = make_producer(*store, {{"linger.ms", "1"}, {"batch.size", "2000"}});

    constexpr int kThreads = 3;
    constexpr int kPerThread = 1500;
    std::atomic<int> failures{0};
    std::atomic<bool> producing{true};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                // Thread 0 writes to one topic; the others switch topics, so the cached
                // topic keeps changing.
                const bool left = t == 0 || (i / 5) % 2 == 0;
                const std::int32_t partition = (i + t) % (left ? 3 : 2);
                const std::string value = std::to_string(t) + ":" + std::to_string(i);
                const Status s = producer->produce(left ? "left" : "right", PartitionId(partition),
                                                   std::nullopt, value);
                if (!s.is_ok()) failures.fetch_add(1);
            }
        });
    }
    // Each new topic changes the store's topics, which invalidates the producer's cache.
    std::thread creator([&] {
        for (int n = 0; producing.load() && n < 40; ++n) {
            if (!store->create_topic("other-" + std::to_string(n), 1, {}).is_ok()) {
                failures.fetch_add(1);
            }
            std::this_thread::sleep_for(1ms);  // pacing only; nothing waits on it
        }
    });
    for (std::thread& t : threads) t.join();
    producing.store(false);
    creator.join();
    REQUIRE(producer->flush().is_ok());
    CHECK(failures.load() == 0);

    // Per thread, per partition: the thread's records in the order it produced them.
    std::map<std::tuple<std::string, std::int32_t, int>, std::vector<int>> seen;
    std::size_t total = 0;
    for (const auto& [topic, partitions] : {std::pair{"left", 3}, std::pair{"right", 2}}) {
        for (const Stored& s : read_all(*store, topic, partitions)) {
            REQUIRE(s.value.has_value());
            const std::size_t colon = s.value->find(':');
            seen[{topic, s.partition, std::stoi(s.value->substr(0, colon))}].push_back(
                std::stoi(s.value->substr(colon + 1)));
            ++total;
        }
    }
    CHECK(total == static_cast<std::size_t>(kThreads * kPerThread));
    for (int t = 0; t < kThreads; ++t) {
        std::map<std::pair<std::string, std::int32_t>, std::vector<int>> expected;
        for (int i = 0; i < kPerThread; ++i) {
            const bool left = t == 0 || (i / 5) % 2 == 0;
            expected[{left ? "left" : "right", (i + t) % (left ? 3 : 2)}].push_back(i);
        }
        for (const auto& [where, order] : expected) {
            CHECK(seen[{where.first, where.second, t}] == order);
        }
    }
}

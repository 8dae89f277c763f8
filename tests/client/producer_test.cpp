// Tests for Producer through the public API, on an in-memory store and on a store in a fresh
// directory: delivery reports and Kafka's key mapping, explicit partitions and unknown
// targets, config checking, record_too_large and batch splitting, sticky partitioning,
// produce_sync (also durable and from several threads), many producing threads, linger and
// batch.size, timestamps from the store clock, compression, and a topic deleted or a store
// closed under a producer. Data is checked through delivery reports and describe_topic.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <brook/brook.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
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
    Store& open(Options options = {}) {
        auto opened = Store::open_in_memory(std::move(options));
        REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
        store = std::move(opened).value();
        return *store;
    }

    std::unique_ptr<Store> store;
};

// A store in a fresh directory under $TMPDIR (or /tmp), removed afterwards.
struct DiskFixture {
    DiskFixture() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/brook-prod-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir = pattern;
    }
    ~DiskFixture() {
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    DiskFixture(const DiskFixture&) = delete;
    DiskFixture& operator=(const DiskFixture&) = delete;

    Store& open(Options options = {}) {
        auto opened = Store::open(dir + "/store", std::move(options));
        REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
        store = std::move(opened).value();
        return *store;
    }

    std::string dir;
    std::unique_ptr<Store> store;
};

TopicDescription describe(Store& store, const std::string& topic) {
    auto described = store.describe_topic(topic);
    REQUIRE_MESSAGE(described.is_ok(), described.status().to_string());
    return std::move(described).value();
}

std::vector<std::int64_t> end_offsets(Store& store, const std::string& topic) {
    std::vector<std::int64_t> ends;
    for (const PartitionDescription& p : describe(store, topic).partitions) {
        ends.push_back(p.log_end_offset.value());
    }
    return ends;
}

std::int64_t total_end_offset(Store& store, const std::string& topic) {
    std::int64_t total = 0;
    for (std::int64_t end : end_offsets(store, topic)) total += end;
    return total;
}

std::uint64_t total_size(Store& store, const std::string& topic) {
    std::uint64_t total = 0;
    for (const PartitionDescription& p : describe(store, topic).partitions) total += p.size_bytes;
    return total;
}

ProducerRecord record(const std::string& topic, std::optional<std::string> key,
                      std::string value = "v") {
    ProducerRecord r;
    r.topic = topic;
    r.key = std::move(key);
    r.value = std::move(value);
    return r;
}

ProducerRecord to_partition(const std::string& topic, std::int32_t partition) {
    ProducerRecord r = record(topic, std::nullopt);
    r.partition = PartitionId(partition);
    return r;
}

// Reports gathered by callbacks, which may run on several threads.
struct Reports {
    std::mutex mu;
    std::vector<DeliveryReport> all;

    DeliveryCallback callback() {
        return [this](const DeliveryReport& report) {
            std::lock_guard lock(mu);
            all.push_back(report);
        };
    }
};

// Checks that `offsets` (of one partition) are exactly 0, 1, ..., n-1 in some order.
void check_gap_free(std::vector<std::int64_t> offsets) {
    std::sort(offsets.begin(), offsets.end());
    for (std::size_t i = 0; i < offsets.size(); ++i) {
        REQUIRE(offsets[i] == static_cast<std::int64_t>(i));
    }
}

}  // namespace

TEST_CASE_TEMPLATE("keyed records get reports with stable partitions and gap-free offsets", Fixture,
                   MemoryFixture, DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "events", 3);
    auto producer = make_producer(store);

    std::vector<std::string> keys;
    std::vector<DeliveryReport> by_index(100);
    std::vector<int> calls(100, 0);
    for (int i = 0; i < 100; ++i) {
        keys.push_back("key-" + std::to_string(i % 10));
        auto callback = [&, i](const DeliveryReport& report) {
            ++calls[i];
            by_index[i] = report;
        };
        REQUIRE(producer->produce(record("events", keys.back()), callback).is_ok());
    }
    REQUIRE(producer->flush().is_ok());
    CHECK(producer->outstanding() == 0);

    std::map<std::string, std::int32_t> partition_of_key;
    std::map<std::int32_t, std::vector<std::int64_t>> by_partition;
    for (int i = 0; i < 100; ++i) {
        const DeliveryReport& report = by_index[i];
        REQUIRE(calls[i] == 1);
        REQUIRE_MESSAGE(report.error.is_ok(), report.error.to_string());
        CHECK(report.topic == "events");
        const std::int32_t p = report.partition.value();
        const auto [it, fresh] = partition_of_key.emplace(keys[i], p);
        CHECK(it->second == p);  // the same key always maps to the same partition
        by_partition[p].push_back(report.offset.value());
    }
    CHECK(by_partition.size() > 1);

    const std::vector<std::int64_t> ends = end_offsets(store, "events");
    for (const auto& [p, offsets] : by_partition) {
        // Produced from one thread, a partition's records get offsets 0, 1, ... in order.
        for (std::size_t i = 0; i < offsets.size(); ++i) {
            CHECK(offsets[i] == static_cast<std::int64_t>(i));
        }
        CHECK(ends[p] == static_cast<std::int64_t>(offsets.size()));
    }
    CHECK(total_end_offset(store, "events") == 100);
}

TEST_CASE_TEMPLATE("keys map to the partitions Kafka's Java client picks", Fixture, MemoryFixture,
                   DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 12);
    auto producer = make_producer(store);
    // toPositive(murmur2(key)) % 12, from Kafka's own murmur2 test vectors.
    const std::vector<std::pair<std::string, std::int32_t>> expected{
        {"21", 0}, {"foobar", 6}, {"a-little-bit-long-string", 8}, {"abc", 3}};
    for (const auto& [key, partition] : expected) {
        CAPTURE(key);
        auto report = producer->produce_sync(record("t", key));
        REQUIRE(report.is_ok());
        CHECK(report->partition == PartitionId(partition));
    }
    auto xxh3 = make_producer(store, {{"partitioner", "xxh3"}});
    for (int i = 0; i < 5; ++i) {
        auto first = xxh3->produce_sync(record("t", "same-key"));
        REQUIRE(first.is_ok());
        auto again = xxh3->produce_sync(record("t", "same-key"));
        REQUIRE(again.is_ok());
        CHECK(first->partition == again->partition);
    }
}

TEST_CASE_TEMPLATE("explicit partitions are used and missing targets are not_found", Fixture,
                   MemoryFixture, DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 3);
    auto producer = make_producer(store);

    Reports reports;
    for (int i = 0; i < 4; ++i) {
        REQUIRE(producer->produce(to_partition("t", 2), reports.callback()).is_ok());
    }
    REQUIRE(producer->flush().is_ok());
    REQUIRE(reports.all.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(reports.all[i].partition == PartitionId(2));
        CHECK(reports.all[i].offset == Offset(static_cast<std::int64_t>(i)));
    }
    CHECK(end_offsets(store, "t") == std::vector<std::int64_t>{0, 0, 4});

    const Status out_of_range = producer->produce(to_partition("t", 3));
    CHECK(out_of_range.code() == Code::not_found);
    CHECK(out_of_range.message().find("partition 3") != std::string::npos);
    CHECK(out_of_range.message().find("3 partitions") != std::string::npos);
    CHECK(producer->produce(to_partition("t", -1)).code() == Code::not_found);
    CHECK(producer->produce_sync(to_partition("t", 7)).code() == Code::not_found);

    const Status unknown = producer->produce(record("nope", "k"));
    CHECK(unknown.code() == Code::not_found);
    CHECK(unknown.message().find("'nope'") != std::string::npos);
    CHECK(unknown.message().find("create_topic") != std::string::npos);
    CHECK(producer->produce_sync(record("nope", "k")).code() == Code::not_found);
    CHECK(producer->outstanding() == 0);
}

TEST_CASE_TEMPLATE("bad producer configs are refused, naming the key", Fixture, MemoryFixture,
                   DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    const std::vector<std::pair<std::string, std::string>> bad{
        {"acks", "2"},
        {"acks", ""},
        {"linger.ms", "-1"},
        {"linger.ms", "5ms"},
        {"linger.ms", " 5"},
        {"batch.size", "0"},
        {"batch.size", "99999999999"},
        {"compression.type", "gzip"},
        {"partitioner", "random"},
        {"delivery.timeout.ms", "0"},
        {"buffer.memory", "0"},
        {"buffer.memory", "-1"},
        {"buffer.memory", "32MB"},
        {"buffer.memory", "99999999999999999999"},
        {"max.block.ms", "-1"},
        {"max.block.ms", "1s"},
        {"retries", "3"},
    };
    for (const auto& [key, value] : bad) {
        CAPTURE(key);
        CAPTURE(value);
        auto producer = Producer::create(store, {{key, value}});
        REQUIRE(producer.code() == Code::invalid_argument);
        CHECK(producer.status().message().find(key) != std::string::npos);
    }
    auto below_linger =
        Producer::create(store, {{"linger.ms", "200"}, {"delivery.timeout.ms", "100"}});
    CHECK(below_linger.code() == Code::invalid_argument);
    CHECK(below_linger.status().message().find("delivery.timeout.ms") != std::string::npos);
    auto below_batch =
        Producer::create(store, {{"batch.size", "65536"}, {"buffer.memory", "65535"}});
    CHECK(below_batch.code() == Code::invalid_argument);
    CHECK(below_batch.status().message().find("buffer.memory") != std::string::npos);

    const std::vector<Config> good{
        {{"acks", "0"}},
        {{"acks", "1"}},
        {{"acks", "all"}},
        {{"acks", "-1"}},
        {{"linger.ms", "0"}, {"batch.size", "1"}, {"compression.type", "zstd"}},
        {{"partitioner", "murmur2_random"}, {"client.id", "any name at all"}},
        {{"delivery.timeout.ms", "1"}, {"linger.ms", "0"}, {"compression.type", "none"}},
        {{"buffer.memory", "8589934592"}, {"max.block.ms", "0"}},
        {{"buffer.memory", "16384"}, {"max.block.ms", "9223372036854775807"}},
    };
    for (const Config& config : good) {
        auto producer = Producer::create(store, config);
        CHECK_MESSAGE(producer.is_ok(), producer.status().to_string());
    }
}

TEST_CASE_TEMPLATE("producers of a closed store fail with closed", Fixture, MemoryFixture,
                   DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 1);
    auto producer = make_producer(store, {{"linger.ms", "60000"}});

    // A record queued before close() is reported with an error by flush(), never lost silently.
    Reports reports;
    REQUIRE(producer->produce(record("t", "k"), reports.callback()).is_ok());
    REQUIRE(store.close().is_ok());
    REQUIRE(producer->flush().is_ok());
    REQUIRE(reports.all.size() == 1);
    CHECK(reports.all[0].error.code() == Code::closed);

    CHECK(producer->produce(record("t", "k")).code() == Code::closed);
    CHECK(producer->produce_sync(record("t", "k")).code() == Code::closed);
    CHECK(Producer::create(store, {}).code() == Code::closed);
}

TEST_CASE_TEMPLATE("records larger than max.message.bytes fail alone; batches are split", Fixture,
                   MemoryFixture, DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 1, {{"max.message.bytes", "1000"}});
    auto producer = make_producer(store, {{"linger.ms", "60000"}, {"batch.size", "1000000"}});

    Reports reports;
    const Status too_large =
        producer->produce(record("t", "k", std::string(2000, 'x')), reports.callback());
    CHECK(too_large.code() == Code::record_too_large);
    CHECK(too_large.message().find("max.message.bytes") != std::string::npos);
    CHECK(producer->produce_sync(record("t", "k", std::string(2000, 'x'))).code() ==
          Code::record_too_large);
    CHECK(producer->outstanding() == 0);

    // Each of these fits alone, but ten of them do not fit one batch: the producer splits.
    for (int i = 0; i < 10; ++i) {
        REQUIRE(
            producer->produce(record("t", "k", std::string(400, 'y')), reports.callback()).is_ok());
    }
    REQUIRE(producer->flush().is_ok());
    REQUIRE(reports.all.size() == 10);  // the refused record got no callback
    for (std::size_t i = 0; i < reports.all.size(); ++i) {
        CHECK_MESSAGE(reports.all[i].error.is_ok(), reports.all[i].error.to_string());
        CHECK(reports.all[i].offset == Offset(static_cast<std::int64_t>(i)));
    }
    CHECK(total_end_offset(store, "t") == 10);
}

TEST_CASE_TEMPLATE("records with null keys stick to one partition until its batch is sent", Fixture,
                   MemoryFixture, DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 4);
    auto producer = make_producer(store, {{"linger.ms", "60000"}, {"batch.size", "1000000"}});

    std::set<std::int32_t> previous;
    for (int round = 0; round < 3; ++round) {
        Reports reports;
        for (int i = 0; i < 50; ++i) {
            REQUIRE(producer->produce(record("t", std::nullopt), reports.callback()).is_ok());
        }
        REQUIRE(producer->flush().is_ok());
        REQUIRE(reports.all.size() == 50);
        std::set<std::int32_t> partitions;
        for (const DeliveryReport& report : reports.all) {
            partitions.insert(report.partition.value());
        }
        CHECK(partitions.size() == 1);
        // Sending the batch moves the sticky partition elsewhere.
        CHECK(partitions != previous);
        previous = partitions;
    }
    CHECK(total_end_offset(store, "t") == 150);
}

TEST_CASE_TEMPLATE("produce_sync appends at once, after records queued before it", Fixture,
                   MemoryFixture, DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 1);
    auto producer = make_producer(store, {{"linger.ms", "60000"}});

    Reports reports;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(producer->produce(record("t", "k"), reports.callback()).is_ok());
    }
    CHECK(end_offsets(store, "t") == std::vector<std::int64_t>{0});
    auto sync = producer->produce_sync(record("t", "k"));
    REQUIRE_MESSAGE(sync.is_ok(), sync.status().to_string());
    CHECK(sync->topic == "t");
    CHECK(sync->partition == PartitionId(0));
    CHECK(sync->offset == Offset(3));
    CHECK(end_offsets(store, "t") == std::vector<std::int64_t>{4});

    // The queued records were appended but their callbacks wait for poll() or flush().
    CHECK(producer->outstanding() == 3);
    CHECK(producer->poll(0ms) == 3);
    REQUIRE(reports.all.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(reports.all[i].offset == Offset(static_cast<std::int64_t>(i)));
    }
    CHECK(producer->outstanding() == 0);
}

TEST_CASE_TEMPLATE("durable produce_sync from four threads gives unique gap-free offsets", Fixture,
                   MemoryFixture, DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 2);
    auto producer = make_producer(store, {{"acks", "all"}});

    constexpr int kThreads = 4;
    constexpr int kPerThread = 50;
    std::mutex mu;
    std::map<std::int32_t, std::vector<std::int64_t>> offsets;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::map<std::int32_t, std::int64_t> last;
            for (int i = 0; i < kPerThread; ++i) {
                auto report = producer->produce_sync(to_partition("t", (t + i) % 2));
                CHECK_MESSAGE(report.is_ok(), report.status().to_string());
                if (!report.is_ok()) return;
                const std::int32_t p = report->partition.value();
                // One thread's records to a partition get increasing offsets.
                if (last.count(p) != 0) CHECK(report->offset.value() > last[p]);
                last[p] = report->offset.value();
                std::lock_guard lock(mu);
                offsets[p].push_back(report->offset.value());
            }
        });
    }
    for (std::thread& t : threads) t.join();
    for (auto& [p, list] : offsets) check_gap_free(list);
    CHECK(end_offsets(store, "t") == std::vector<std::int64_t>{100, 100});
    CHECK(producer->outstanding() == 0);
}

TEST_CASE_TEMPLATE("four threads producing at once: one report each, offsets unique and in order",
                   Fixture, MemoryFixture, DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 3);
    auto producer = make_producer(store, {{"linger.ms", "1"}, {"batch.size", "2000"}});

    constexpr int kThreads = 4;
    constexpr int kPerThread = 2500;
    std::vector<int> calls(kThreads * kPerThread, 0);
    std::vector<DeliveryReport> by_id(kThreads * kPerThread);
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const int id = t * kPerThread + i;
                auto callback = [&, id](const DeliveryReport& report) {
                    std::lock_guard lock(mu);
                    ++calls[id];
                    by_id[id] = report;
                };
                const std::string key = "key-" + std::to_string(i % 17);
                const Status produced = producer->produce(record("t", key), callback);
                CHECK_MESSAGE(produced.is_ok(), produced.to_string());
                if (i % 100 == 0) producer->poll(0ms);
            }
        });
    }
    for (std::thread& t : threads) t.join();
    REQUIRE(producer->flush().is_ok());
    CHECK(producer->outstanding() == 0);

    std::map<std::int32_t, std::vector<std::int64_t>> offsets;
    for (int t = 0; t < kThreads; ++t) {
        std::map<std::int32_t, std::int64_t> last;
        for (int i = 0; i < kPerThread; ++i) {
            const int id = t * kPerThread + i;
            REQUIRE(calls[id] == 1);
            const DeliveryReport& report = by_id[id];
            REQUIRE_MESSAGE(report.error.is_ok(), report.error.to_string());
            const std::int32_t p = report.partition.value();
            if (last.count(p) != 0) REQUIRE(report.offset.value() > last[p]);
            last[p] = report.offset.value();
            offsets[p].push_back(report.offset.value());
        }
    }
    const std::vector<std::int64_t> ends = end_offsets(store, "t");
    for (auto& [p, list] : offsets) {
        CHECK(ends[p] == static_cast<std::int64_t>(list.size()));
        check_gap_free(list);
    }
    CHECK(total_end_offset(store, "t") == kThreads * kPerThread);
}

TEST_CASE_TEMPLATE("linger.ms and batch.size decide when a batch is appended", Fixture,
                   MemoryFixture, DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 1);

    SUBCASE("linger.ms = 0 appends at once, without flush()") {
        auto producer = make_producer(store, {{"linger.ms", "0"}});
        for (int i = 0; i < 2; ++i) {
            Reports reports;
            REQUIRE(producer->produce(record("t", "k"), reports.callback()).is_ok());
            CHECK(producer->poll(60s) == 1);  // the report of a record appended, no flush()
            REQUIRE(reports.all.size() == 1);
            CHECK(reports.all[0].offset == Offset(i));
            CHECK(total_end_offset(store, "t") == i + 1);
        }
        REQUIRE(producer->produce(record("t", "k")).is_ok());
        CHECK(producer->outstanding() == 1);  // until poll() serves the report
        while (producer->outstanding() > 0) CHECK(producer->poll(60s) == 0);  // no callback
        CHECK(total_end_offset(store, "t") == 3);
    }
    SUBCASE("a lingering batch waits for flush()") {
        auto producer = make_producer(store, {{"linger.ms", "60000"}, {"batch.size", "1000000"}});
        for (int i = 0; i < 10; ++i) REQUIRE(producer->produce(record("t", "k")).is_ok());
        CHECK(total_end_offset(store, "t") == 0);
        CHECK(producer->outstanding() == 10);
        CHECK(producer->poll(1ms) == 0);
        REQUIRE(producer->flush().is_ok());
        CHECK(total_end_offset(store, "t") == 10);
        CHECK(producer->outstanding() == 0);
    }
    SUBCASE("a full batch is appended without waiting") {
        auto producer = make_producer(store, {{"linger.ms", "60000"}, {"batch.size", "1"}});
        for (int i = 0; i < 5; ++i) REQUIRE(producer->produce(record("t", "k")).is_ok());
        CHECK(total_end_offset(store, "t") == 5);
    }
    SUBCASE("destroying a producer appends what it still holds") {
        auto producer = make_producer(store, {{"linger.ms", "60000"}});
        for (int i = 0; i < 7; ++i) REQUIRE(producer->produce(record("t", "k")).is_ok());
        producer.reset();
        CHECK(total_end_offset(store, "t") == 7);
    }
}

TEST_CASE_TEMPLATE("timestamps come from the record or the store clock", Fixture, MemoryFixture,
                   DiskFixture) {
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(1'000'000);
    Options options;
    options.clock = clock;
    Store& store = fixture.open(options);
    create_topic(store, "create", 1);
    create_topic(store, "append", 1, {{"message.timestamp.type", "LogAppendTime"}});
    auto producer = make_producer(store);

    auto now = producer->produce_sync(record("create", "k"));
    REQUIRE(now.is_ok());
    CHECK(now->timestamp == 1'000'000);

    ProducerRecord given = record("create", "k");
    given.timestamp = 42;
    Reports reports;
    REQUIRE(producer->produce(std::move(given), reports.callback()).is_ok());
    REQUIRE(producer->flush().is_ok());
    REQUIRE(reports.all.size() == 1);
    CHECK(reports.all[0].timestamp == 42);

    // Under LogAppendTime the report carries the time of the append, not the record's.
    ProducerRecord stamped = record("append", "k");
    stamped.timestamp = 42;
    clock->advance_ms(500);
    auto appended = producer->produce_sync(std::move(stamped));
    REQUIRE(appended.is_ok());
    CHECK(appended->timestamp == 1'000'500);
}

TEST_CASE_TEMPLATE("zstd stores compressible records in fewer bytes", Fixture, MemoryFixture,
                   DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "plain", 1);
    create_topic(store, "packed", 1);
    create_topic(store, "topic-zstd", 1, {{"compression.type", "zstd"}});
    create_topic(store, "topic-plain", 1, {{"compression.type", "uncompressed"}});
    const Config batching{{"linger.ms", "60000"}, {"batch.size", "1000000"}};
    auto none = make_producer(store, batching);
    Config zstd_config = batching;
    zstd_config["compression.type"] = "zstd";
    auto zstd = make_producer(store, zstd_config);

    const std::string value(1000, 'a');
    for (int i = 0; i < 200; ++i) {
        REQUIRE(none->produce(record("plain", "k", value)).is_ok());
        REQUIRE(zstd->produce(record("packed", "k", value)).is_ok());
        REQUIRE(none->produce(record("topic-zstd", "k", value)).is_ok());
        REQUIRE(zstd->produce(record("topic-plain", "k", value)).is_ok());
    }
    REQUIRE(none->flush().is_ok());
    REQUIRE(zstd->flush().is_ok());
    for (const char* topic : {"plain", "packed", "topic-zstd", "topic-plain"}) {
        CAPTURE(topic);
        CHECK(total_end_offset(store, topic) == 200);
    }
    const std::uint64_t plain = total_size(store, "plain");
    CHECK(plain > 200'000);
    CHECK(total_size(store, "packed") * 10 < plain);
    // A topic's own compression.type wins over the producer's.
    CHECK(total_size(store, "topic-zstd") * 10 < plain);
    // Uncompressed batches hold every value byte. Compared with the values, not with "plain":
    // batch boundaries and timestamp deltas may differ between the two topics by a few bytes.
    CHECK(total_size(store, "topic-plain") >= 200 * value.size());
}

TEST_CASE_TEMPLATE("deleting a topic under a producer fails its queued records", Fixture,
                   MemoryFixture, DiskFixture) {
    Fixture fixture;
    Store& store = fixture.open();
    create_topic(store, "t", 2);
    auto producer = make_producer(store, {{"linger.ms", "60000"}});

    Reports reports;
    for (int i = 0; i < 10; ++i) {
        REQUIRE(producer->produce(record("t", std::to_string(i)), reports.callback()).is_ok());
    }
    REQUIRE(store.delete_topic("t").is_ok());
    REQUIRE(producer->flush().is_ok());
    REQUIRE(reports.all.size() == 10);
    for (const DeliveryReport& report : reports.all) {
        CHECK(report.error.code() == Code::not_found);
        CHECK(report.topic == "t");
    }
    CHECK(producer->outstanding() == 0);
    CHECK(producer->produce(record("t", "k")).code() == Code::not_found);
    CHECK(producer->produce_sync(record("t", "k")).code() == Code::not_found);

    // A topic created again under the same name starts afresh.
    create_topic(store, "t", 1);
    auto report = producer->produce_sync(record("t", "k"));
    REQUIRE_MESSAGE(report.is_ok(), report.status().to_string());
    CHECK(report->offset == Offset(0));
}

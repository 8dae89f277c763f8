// End to end through the public API: four producer threads and concurrent consumers, every
// record delivered exactly once in per-partition order with no gaps; data surviving a
// restart; and a read-only store in another process tailing the writer.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "api_env.hpp"

using namespace brook;
using namespace brook_test;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitions = 4;

std::unique_ptr<Consumer> consumer_from_beginning(Store& store, const std::string& topic,
                                                  int partitions) {
    auto consumer = Consumer::create(store);
    REQUIRE(consumer.is_ok());
    std::vector<TopicPartitionOffset> assignment;
    for (int p = 0; p < partitions; ++p) {
        assignment.push_back({topic, PartitionId(p), kOffsetBeginning});
    }
    REQUIRE((*consumer)->assign(assignment).is_ok());
    return std::move(consumer).value();
}

}  // namespace

TEST_CASE_TEMPLATE("four producer threads, concurrent consumers, every record exactly once",
                   Fixture, DiskStore, MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("events", kPartitions).is_ok());
    constexpr int kThreads = 4;
    constexpr int kPerThread = 1500;
    constexpr int kTotal = kThreads * kPerThread;

    // Two consumers read everything while the producers run; each must see every record once.
    std::atomic<bool> failed{false};
    std::vector<std::map<int, std::vector<std::string>>> seen(2);
    std::vector<std::thread> consumers;
    for (int c = 0; c < 2; ++c) {
        consumers.emplace_back([&, c] {
            auto consumer = consumer_from_beginning(*store, "events", kPartitions);
            std::map<int, std::int64_t> next_offset;
            int received = 0;
            const auto give_up = std::chrono::steady_clock::now() + 60s;
            while (received < kTotal && std::chrono::steady_clock::now() < give_up) {
                for (auto& message : consumer->consume(500, 1s)) {
                    const int p = message.partition().value();
                    if (!message.error().is_ok() || message.offset().value() != next_offset[p]) {
                        failed = true;
                    }
                    next_offset[p] = message.offset().value() + 1;
                    seen[c][p].push_back(std::string(*message.value()));
                    ++received;
                }
            }
        });
    }

    std::mutex reports_mu;
    std::map<int, std::map<std::int64_t, std::string>> delivered;  // partition -> offset -> value
    auto producer = make_producer(*store, {{"linger.ms", "1"}, {"batch.size", "2048"}});
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t) {
        producers.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                std::string value = "t" + std::to_string(t) + "-" + std::to_string(i);
                Status queued = producer->produce(
                    {.topic = "events", .key = "key-" + std::to_string(i % 97), .value = value},
                    [&, value](const DeliveryReport& report) {
                        std::lock_guard lock(reports_mu);
                        if (!report.error.is_ok()) failed = true;
                        auto [it, inserted] = delivered[report.partition.value()].emplace(
                            report.offset.value(), value);
                        if (!inserted) failed = true;
                    });
                if (!queued.is_ok()) failed = true;
                if (i % 100 == 0) producer->poll(0ms);
            }
        });
    }
    for (auto& t : producers) t.join();
    REQUIRE(producer->flush(30s).is_ok());
    for (auto& t : consumers) t.join();

    CHECK_FALSE(failed);
    std::size_t total = 0;
    for (const auto& [partition, by_offset] : delivered) {
        // Offsets 0..n-1, no gaps: the map's keys are exactly that range.
        CHECK(by_offset.begin()->first == 0);
        CHECK(by_offset.rbegin()->first == static_cast<std::int64_t>(by_offset.size()) - 1);
        total += by_offset.size();
        std::vector<std::string> in_order;
        for (const auto& [offset, value] : by_offset) in_order.push_back(value);
        for (int c = 0; c < 2; ++c) CHECK(seen[c][partition] == in_order);
    }
    CHECK(total == kTotal);
    // Each thread's records with one key land in one partition in the order they were produced.
    std::set<std::string> values;
    for (const auto& [partition, by_offset] : delivered) {
        for (const auto& [offset, value] : by_offset) values.insert(value);
    }
    CHECK(values.size() == kTotal);
}

TEST_CASE("records survive a restart") {
    DiskStore fixture;
    std::vector<std::string> expected;
    {
        auto store = fixture.open();
        REQUIRE(store->create_topic("log", 1).is_ok());
        auto producer = make_producer(*store, {{"acks", "all"}});
        for (int i = 0; i < 50; ++i) {
            expected.push_back("v" + std::to_string(i));
            REQUIRE(producer->produce_sync({.topic = "log", .value = expected.back()}).is_ok());
        }
    }
    auto store = fixture.open();
    auto consumer = consumer_from_beginning(*store, "log", 1);
    std::vector<std::string> got;
    for (auto& message : consumer->consume(100, 1s)) got.push_back(std::string(*message.value()));
    CHECK(got == expected);
}

TEST_CASE("a read-only store in another process tails the writer") {
    DiskStore fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("feed", 1).is_ok());
    auto producer = make_producer(*store, {{"linger.ms", "0"}});
    REQUIRE(producer->produce_sync({.topic = "feed", .value = "before"}).is_ok());

    int ready[2];
    int go[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(go) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The reader: sees "before" at once, then tails "after-0..9" as the writer adds them.
        ForkedReader reader = open_forked_reader(fixture.path, "feed", "50");
        Consumer* const consumer = reader.consumer.get();
        auto first = consumer->poll(5s);
        if (!first || *first->value() != "before") ::_exit(4);
        char byte = 1;
        if (::write(ready[1], &byte, 1) != 1) ::_exit(5);
        for (int i = 0; i < 10; ++i) {
            auto next = consumer->poll(20s);
            if (!next || !next->error().is_ok() || *next->value() != "after-" + std::to_string(i)) {
                ::_exit(10 + i);
            }
        }
        ::_exit(0);
    }
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    for (int i = 0; i < 10; ++i) {
        REQUIRE(producer->produce_sync({.topic = "feed", .value = "after-" + std::to_string(i)})
                    .is_ok());
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);
}

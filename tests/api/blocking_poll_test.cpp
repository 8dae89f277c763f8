// A consumer blocked in poll(): it returns each record of its own partition as it is appended,
// in order and nothing else, while other partitions and topics take appends around it; its
// timeout holds while appends it does not read keep waking it; and after a run of empty polls
// (which teach it to stop spinning) it still wakes for the next record.
#include <doctest/doctest.h>

#include <atomic>
#include <brook/brook.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "api_env.hpp"

namespace {

using namespace brook;
using namespace std::chrono_literals;
using brook_test::DiskStore;
using brook_test::MemoryStore;
using SteadyClock = std::chrono::steady_clock;

struct Env {
    std::unique_ptr<Store> store;
    std::unique_ptr<Producer> producer;
    std::unique_ptr<Consumer> consumer;
};

// Topic "t" with 2 partitions and "other" with 1; a consumer assigned to t-0 from its start.
template <typename F>
Env make_env(F& fixture) {
    Env env;
    env.store = fixture.open();
    REQUIRE(env.store->create_topic("t", 2).is_ok());
    REQUIRE(env.store->create_topic("other", 1).is_ok());
    auto producer = Producer::create(*env.store, {{"linger.ms", "0"}});
    REQUIRE_MESSAGE(producer.is_ok(), producer.status().to_string());
    env.producer = std::move(producer).value();
    auto consumer = Consumer::create(*env.store);
    REQUIRE_MESSAGE(consumer.is_ok(), consumer.status().to_string());
    env.consumer = std::move(consumer).value();
    REQUIRE(env.consumer->assign({{"t", PartitionId(0), kOffsetBeginning}}).is_ok());
    return env;
}

ProducerRecord record(const std::string& topic, int partition, std::string value) {
    ProducerRecord r;
    r.topic = topic;
    r.value = std::move(value);
    r.partition = PartitionId(partition);
    return r;
}

TEST_CASE_TEMPLATE("a blocked poll returns each record of its partition, and only those", F,
                   MemoryStore, DiskStore) {
    F fixture;
    Env env = make_env(fixture);
    constexpr int kOwn = 200;
    constexpr int kNoisePerOwn = 3;

    // The model: the values appended to t-0, in order.
    std::vector<std::string> expected;
    for (int i = 0; i < kOwn; ++i) expected.push_back("own-" + std::to_string(i));

    std::vector<std::string> got;
    int empty_polls = 0;
    std::thread reader([&] {
        while (got.size() < expected.size()) {
            // Every poll has a record coming: an empty one means a wake-up was lost.
            std::optional<Message> m = env.consumer->poll(10s);
            if (!m) {
                ++empty_polls;
                break;
            }
            CHECK(m->error().is_ok());
            CHECK(m->topic() == "t");
            CHECK(m->partition() == PartitionId(0));
            got.emplace_back(m->value().value_or(""));
        }
    });
    for (int i = 0; i < kOwn; ++i) {
        for (int n = 0; n < kNoisePerOwn; ++n) {
            CHECK(env.producer->produce(record(n % 2 ? "other" : "t", n % 2 ? 0 : 1, "noise"))
                      .is_ok());
        }
        CHECK(env.producer->produce(record("t", 0, expected[static_cast<std::size_t>(i)])).is_ok());
        // Now and then the reader catches up and blocks before the next record.
        if (i % 16 == 0) CHECK(env.producer->flush().is_ok());
    }
    CHECK(env.producer->flush().is_ok());
    reader.join();
    CHECK(empty_polls == 0);
    CHECK(got == expected);
    CHECK_FALSE(env.consumer->poll(0ms).has_value());
}

TEST_CASE_TEMPLATE("a poll times out while only other partitions take appends", F, MemoryStore,
                   DiskStore) {
    F fixture;
    Env env = make_env(fixture);
    std::atomic<bool> done{false};
    std::thread noise([&] {
        for (int i = 0; !done.load(); ++i) {
            const bool same_topic = i % 2 == 0;
            CHECK(env.producer
                      ->produce(record(same_topic ? "t" : "other", same_topic ? 1 : 0, "noise"))
                      .is_ok());
            CHECK(env.producer->flush().is_ok());
        }
    });
    const auto start = SteadyClock::now();
    const std::optional<Message> m = env.consumer->poll(150ms);
    const auto took = SteadyClock::now() - start;
    done.store(true);
    noise.join();
    CHECK_FALSE(m.has_value());
    CHECK(took >= 150ms);
    CHECK(took < 5s);

    // Its own partition still wakes it.
    REQUIRE(env.producer->produce(record("t", 0, "own")).is_ok());
    REQUIRE(env.producer->flush().is_ok());
    const std::optional<Message> own = env.consumer->poll(10s);
    REQUIRE(own.has_value());
    CHECK(own->value() == std::optional<std::string_view>("own"));
}

TEST_CASE_TEMPLATE("after many empty polls a blocked poll still wakes for a record", F, MemoryStore,
                   DiskStore) {
    F fixture;
    Env env = make_env(fixture);
    for (int i = 0; i < 20; ++i) CHECK_FALSE(env.consumer->poll(2ms).has_value());

    std::optional<Message> got;
    std::chrono::steady_clock::duration took{};
    std::thread poller([&] {
        const auto start = SteadyClock::now();
        got = env.consumer->poll(10s);
        took = SteadyClock::now() - start;
    });
    CHECK(env.producer->produce(record("t", 0, "late")).is_ok());
    CHECK(env.producer->flush().is_ok());
    poller.join();
    REQUIRE(got.has_value());
    CHECK(got->value() == std::optional<std::string_view>("late"));
    // 10 s would mean the record's wake-up was lost; the bound only detects that.
    CHECK(took < 5s);
}

}  // namespace

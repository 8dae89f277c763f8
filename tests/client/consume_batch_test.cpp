// Tests for Consumer::consume's batch path through the public API: a partition assigned alone
// hands out whole reads into the returned vector, from read buffers the consumer recycles once
// the messages sharing them are gone. Every record produced (null and empty keys and values,
// headers, varied sizes) must come back exactly once, in order, with its topic; messages kept
// from earlier calls must keep their bytes while later reads reuse buffers; copies of a
// message outlive it; messages checked and destroyed on another thread (so that their buffers
// go back to the consumer from there) hold the right bytes, as do copies made and dropped on
// two threads at once; a message made from a shared_ptr source holds it until its last copy
// goes; several partitions still come back whole, round-robin; and consume() into the caller's
// vector replaces what it held without growing it again.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace brook;
using namespace std::chrono_literals;

namespace {

struct Produced {
    std::optional<std::string> key;
    std::optional<std::string> value;
    Headers headers;
};

Produced record_number(int i) {
    Produced p;
    if (i % 7 != 3) p.key = "key-" + std::to_string(i);
    if (i % 11 != 5)
        p.value = std::string(static_cast<std::size_t>((i * 37) % 300), char('a' + i % 26));
    if (i % 5 == 0) p.headers = {{"h" + std::to_string(i), "x"}, {"null", std::nullopt}};
    return p;
}

std::unique_ptr<Store> open_with_records(const std::vector<std::string>& topics, int partitions,
                                         int count) {
    auto store = Store::open_in_memory();
    REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
    auto producer = Producer::create(**store, {{"linger.ms", "0"}});
    REQUIRE(producer.is_ok());
    for (const auto& topic : topics) {
        REQUIRE((*store)->create_topic(topic, partitions).is_ok());
        for (int i = 0; i < count; ++i) {
            const Produced p = record_number(i);
            ProducerRecord record;
            record.topic = topic;
            record.partition = PartitionId(i % partitions);
            record.key = p.key;
            record.value = p.value;
            record.headers = p.headers;
            REQUIRE((*producer)->produce(std::move(record)).is_ok());
        }
    }
    REQUIRE((*producer)->flush().is_ok());
    return std::move(store).value();
}

void check_record(const Message& m, const std::string& topic, int i) {
    CAPTURE(i);
    const Produced p = record_number(i);
    REQUIRE_MESSAGE(m.error().is_ok(), m.error().to_string());
    CHECK(m.topic() == topic);
    CHECK(m.key() == (p.key ? std::optional<std::string_view>(*p.key) : std::nullopt));
    CHECK(m.value() == (p.value ? std::optional<std::string_view>(*p.value) : std::nullopt));
    CHECK(m.headers() == p.headers);
}

// A consumer of partition 0 of "events" from its start, reading `fetch_bytes` at a time.
std::unique_ptr<Consumer> consumer_of_events(const Store& store, const std::string& fetch_bytes) {
    auto consumer = Consumer::create(store, {{"max.partition.fetch.bytes", fetch_bytes}});
    REQUIRE_MESSAGE(consumer.is_ok(), consumer.status().to_string());
    REQUIRE((*consumer)->assign({{"events", PartitionId(0), kOffsetBeginning}}).is_ok());
    return std::move(consumer).value();
}

TEST_CASE("consume of one partition returns every record in order while buffers are recycled") {
    constexpr int kCount = 3000;
    auto store = open_with_records({"events"}, 1, kCount);
    // Small reads: many of them per consume() call, and many buffers to recycle.
    auto consumer = consumer_of_events(*store, "4096");

    std::vector<Message> kept;  // every third call's messages stay alive to the end
    int next = 0;
    for (int call = 0; next < kCount; ++call) {
        std::vector<Message> batch = consumer->consume(1 + (call * 97) % 700, 5s);
        REQUIRE_MESSAGE(!batch.empty(), "stopped at ", next);
        for (const Message& m : batch) {
            CHECK(m.offset() == Offset(next));
            check_record(m, "events", next);
            ++next;
        }
        if (call % 3 == 0) kept.insert(kept.end(), batch.begin(), batch.end());
    }
    CHECK(next == kCount);
    CHECK(consumer->consume(10, 0ms).empty());

    // The kept messages still hold their own bytes, after every later read.
    for (const Message& m : kept) check_record(m, "events", static_cast<int>(m.offset().value()));
    // A copy outlives the message it was copied from, and the consumer.
    REQUIRE(!kept.empty());
    Message copy = kept.back();
    kept.clear();
    consumer.reset();
    check_record(copy, "events", static_cast<int>(copy.offset().value()));
}

TEST_CASE("consume into the caller's vector replaces its messages and keeps its capacity") {
    constexpr int kCount = 3000;
    auto store = open_with_records({"events"}, 1, kCount);
    auto consumer = consumer_of_events(*store, "4096");

    // Starts with a message of its own, which the first call drops.
    std::vector<Message> batch{Message::from_error(Status::not_found("left over"))};
    int next = 0;
    std::size_t capacity = 0;
    bool reused = false;  // some call asked for no more than a previous call made room for
    for (int call = 0; next < kCount; ++call) {
        const std::size_t max = 1 + (call * 97) % 700;
        const Message* before = batch.data();
        const std::size_t got = consumer->consume(batch, max, 5s);
        REQUIRE_MESSAGE(got > 0, "stopped at ", next);
        CHECK(got == batch.size());
        CHECK(got <= max);
        if (max <= capacity) {
            CHECK(batch.data() == before);
            reused = true;
        }
        capacity = batch.capacity();
        for (const Message& m : batch) {
            CHECK(m.offset() == Offset(next));
            check_record(m, "events", next);
            ++next;
        }
    }
    CHECK(next == kCount);
    CHECK(reused);
    CHECK(consumer->consume(batch, 10, 0ms) == 0);
    CHECK(batch.empty());
    CHECK(consumer->consume(batch, 0, 0ms) == 0);
}

TEST_CASE("messages destroyed on another thread give their buffers back while reading goes on") {
    constexpr int kCount = 4000;
    auto store = open_with_records({"events"}, 1, kCount);
    auto consumer = consumer_of_events(*store, "2048");

    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::vector<Message>> queue;
    bool done = false;
    int checked = 0;
    int wrong = 0;
    std::thread checker([&] {
        for (;;) {
            std::vector<Message> batch;
            {
                std::unique_lock lock(mu);
                cv.wait(lock, [&] { return done || !queue.empty(); });
                if (queue.empty()) return;
                batch = std::move(queue.front());
                queue.pop_front();
            }
            for (const Message& m : batch) {
                const Produced p = record_number(static_cast<int>(m.offset().value()));
                const bool same =
                    m.value() ==
                        (p.value ? std::optional<std::string_view>(*p.value) : std::nullopt) &&
                    m.key() == (p.key ? std::optional<std::string_view>(*p.key) : std::nullopt) &&
                    m.headers() == p.headers && m.topic() == "events";
                wrong += same ? 0 : 1;
                ++checked;
            }
            // The batch is destroyed here, on this thread.
        }
    });
    int received = 0;
    while (received < kCount) {
        std::vector<Message> batch = consumer->consume(1 + received % 250, 5s);
        REQUIRE_MESSAGE(!batch.empty(), "stopped at ", received);
        for (const Message& m : batch) CHECK(m.offset() == Offset(received++));
        {
            std::lock_guard lock(mu);
            queue.push_back(std::move(batch));
        }
        cv.notify_one();
    }
    {
        std::lock_guard lock(mu);
        done = true;
    }
    cv.notify_one();
    checker.join();
    CHECK(checked == kCount);
    CHECK(wrong == 0);
}

TEST_CASE("copies of one read's messages made and dropped on two threads at once keep the bytes") {
    constexpr int kCount = 2000;
    auto store = open_with_records({"events"}, 1, kCount);
    auto consumer = consumer_of_events(*store, "1048576");
    std::vector<Message> all;
    while (all.size() < kCount) {
        std::vector<Message> batch = consumer->consume(kCount, 5s);
        REQUIRE(!batch.empty());
        all.insert(all.end(), batch.begin(), batch.end());
    }
    // Copies, moves and assignments of messages sharing reads, on two threads at once: the
    // count of their references in each read must stay exact for the bytes to stay put.
    const auto churn = [&all] {
        int wrong = 0;
        for (int round = 0; round < 10; ++round) {
            std::vector<Message> copies(all.begin(), all.end());
            for (Message& m : copies) {
                Message moved = std::move(m);
                Message again;
                again = moved;
                again = again;
                const Produced p = record_number(static_cast<int>(again.offset().value()));
                wrong += again.value() == (p.value ? std::optional<std::string_view>(*p.value)
                                                   : std::nullopt)
                             ? 0
                             : 1;
            }
        }
        return wrong;
    };
    int other_wrong = 0;
    std::thread other([&] { other_wrong = churn(); });
    const int wrong = churn();
    other.join();
    CHECK(wrong == 0);
    CHECK(other_wrong == 0);
    for (const Message& m : all) check_record(m, "events", static_cast<int>(m.offset().value()));
    // The reads' buffers come back once the last messages are gone, and reading goes on.
    all.clear();
    REQUIRE(consumer->seek({"events", PartitionId(0), Offset(0)}).is_ok());
    std::vector<Message> again = consumer->consume(kCount, 5s);
    REQUIRE(!again.empty());
    for (const Message& m : again) check_record(m, "events", static_cast<int>(m.offset().value()));
}

TEST_CASE("a message made from a shared source keeps it alive until the last copy is gone") {
    auto source = std::make_shared<const detail::MessageSource>("topic-a", Status::ok());
    std::optional<Message> m;
    m.emplace(source, PartitionId(2), Offset(7), std::string_view(source->topic).substr(0, 5),
              std::nullopt, nullptr, 1234, TimestampType::create_time);
    CHECK(source.use_count() == 2);
    Message copy = *m;
    m.reset();
    CHECK(source.use_count() == 2);
    CHECK(copy.topic() == "topic-a");
    CHECK(copy.key() == std::optional<std::string_view>("topic"));
    CHECK(!copy.value());
    CHECK(copy.partition() == PartitionId(2));
    CHECK(copy.offset() == Offset(7));
    CHECK(copy.timestamp() == 1234);
    CHECK(copy.error().is_ok());
    copy = Message();
    CHECK(source.use_count() == 1);
}

TEST_CASE("consume of several partitions returns every record of each, in order") {
    constexpr int kCount = 2000;
    auto store = open_with_records({"a", "b"}, 3, kCount);
    auto created = Consumer::create(*store, {{"max.partition.fetch.bytes", "2048"}});
    REQUIRE(created.is_ok());
    auto consumer = std::move(created).value();
    std::vector<TopicPartitionOffset> assignment;
    for (const char* topic : {"a", "b"}) {
        for (int p = 0; p < 3; ++p) assignment.push_back({topic, PartitionId(p), kOffsetBeginning});
    }
    REQUIRE(consumer->assign(assignment).is_ok());

    std::map<std::pair<std::string, int>, int> next;  // per partition, the next record number
    int total = 0;
    while (total < 2 * kCount) {
        std::vector<Message> batch = consumer->consume(500, 5s);
        REQUIRE_MESSAGE(!batch.empty(), "stopped at ", total);
        for (const Message& m : batch) {
            const int partition = m.partition().value();
            int& i = next.try_emplace({m.topic(), partition}, partition).first->second;
            check_record(m, m.topic(), i);
            i += 3;
            ++total;
        }
    }
    CHECK(total == 2 * kCount);
    CHECK(consumer->consume(10, 0ms).empty());
}

}  // namespace

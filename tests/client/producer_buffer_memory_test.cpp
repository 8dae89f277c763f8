// buffer.memory and max.block.ms, checked against the records the log ends up with.
//
// Every batch takes batch.size bytes of buffer.memory when it opens, and gives them back once
// it was appended. The tests fill buffer.memory with one open batch per partition (linger.ms
// is long enough that only a waiting produce() call can have them sealed), and hold every
// append in the client::testing::before_send hook, so that no room can come back until the
// test opens the gate: whether a call waits, fails or goes through is then decided by the
// test, not by timing. One test holds the thread that appended a batch after it reported the
// batch's records instead, to check that the batch's room was free by then. A last test runs four
// threads against a buffer.memory of two batches and checks that each record is stored exactly
// once, in the order its thread produced it.
#include <doctest/doctest.h>

#include <atomic>
#include <brook/brook.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/api_env.hpp"
#include "client/producer_read_back.hpp"
#include "client/producer_testing.hpp"

using namespace brook;
using namespace brook_test;
using namespace std::chrono_literals;

namespace {

// Stops every thread about to append batches until the test opens it.
struct AppendGate {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false;
    bool open = false;
};
AppendGate gate;

void wait_at_gate() {
    std::unique_lock lock(gate.mu);
    gate.entered = true;
    gate.cv.notify_all();
    gate.cv.wait(lock, [] { return gate.open; });
}

// Installs the gate as `hook` (before_send unless named) for one test, and opens the gate and
// removes it however the test ends.
struct ClosedGate {
    explicit ClosedGate(std::atomic<void (*)()>& hook = client::testing::before_send)
        : hook_(hook) {
        close();
        hook_.store(&wait_at_gate);
    }
    ~ClosedGate() {
        open();
        hook_.store(nullptr);
    }
    bool wait_entered() {
        std::unique_lock lock(gate.mu);
        return gate.cv.wait_for(lock, 60s, [] { return gate.entered; });
    }
    void close() {
        std::lock_guard lock(gate.mu);
        gate.entered = false;
        gate.open = false;
    }
    void open() {
        std::lock_guard lock(gate.mu);
        gate.open = true;
        gate.cv.notify_all();
    }

  private:
    std::atomic<void (*)()>& hook_;
};

constexpr int kPartitions = 5;
// A record that nearly fills a batch of batch.size = 1024 bytes alone without reaching it, so
// a sealed batch of one keeps almost all of its share: four such batches leave no room for a
// fifth in 4096 bytes, sealed or not.
const std::string kLargeValue(900, 'v');

// Four partitions' open batches fill buffer.memory; a fifth partition finds it full.
Config full_config(const std::string& max_block_ms) {
    return {{"linger.ms", "600000"},
            {"delivery.timeout.ms", "600000"},
            {"batch.size", "1024"},
            {"buffer.memory", "4096"},
            {"max.block.ms", max_block_ms}};
}

struct Expected {
    std::int32_t partition;
    std::string value;
};

// The stored records, partition by partition, against what the test expects in each.
void check_log(Store& store, const std::vector<Expected>& expected) {
    std::map<std::int32_t, std::vector<std::string>> want;
    for (const Expected& e : expected) want[e.partition].push_back(e.value);
    std::map<std::int32_t, std::vector<std::string>> got;
    for (const Stored& s : read_all(store, "t", kPartitions)) {
        CHECK(s.offset == static_cast<std::int64_t>(got[s.partition].size()));
        got[s.partition].push_back(s.value.value_or("<null>"));
    }
    CHECK(got == want);
}

Status produce_to(Producer& producer, std::int32_t partition, const std::string& value) {
    return producer.produce(
        {.topic = "t", .key = "k", .value = value, .partition = PartitionId(partition)});
}

// Opens one batch in each of partitions 0 to 3 with a large record: buffer.memory is full.
void fill_buffer(Producer& producer, std::vector<Expected>& expected) {
    for (std::int32_t p = 0; p < 4; ++p) {
        REQUIRE(produce_to(producer, p, kLargeValue).is_ok());
        expected.push_back({p, kLargeValue});
    }
}

// A producer with full_config(max_block_ms) for the test's store.
std::unique_ptr<Producer> full_producer(Store& store, const std::string& max_block_ms) {
    auto created = Producer::create(store, full_config(max_block_ms));
    REQUIRE_MESSAGE(created.is_ok(), created.status().to_string());
    return std::move(created).value();
}

}  // namespace

TEST_CASE_TEMPLATE("a full buffer.memory fails produce calls after max.block.ms = 0", Fixture,
                   MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", kPartitions).is_ok());
    ClosedGate gate_closed;
    const auto owned = full_producer(*store, "0");
    Producer& producer = *owned;

    std::vector<Expected> expected;
    fill_buffer(producer, expected);
    // Into an open batch: no new share, so no wait, however full buffer.memory is.
    REQUIRE(produce_to(producer, 0, "small").is_ok());
    expected.push_back({0, "small"});

    const Status refused = produce_to(producer, 4, "refused");
    CHECK(refused.code() == Code::timed_out);
    CHECK(refused.message().find("buffer.memory = 4096") != std::string::npos);
    CHECK(refused.message().find("max.block.ms = 0") != std::string::npos);
    const BatchRecord records[] = {{.key = "k", .value = "batch"}};
    CHECK(producer.produce_batch("t", PartitionId(4), records).code() == Code::timed_out);
    CHECK(producer.produce_sync({.topic = "t", .value = "sync", .partition = PartitionId(4)})
              .code() == Code::timed_out);
    // produce_sync() puts its record in a batch of its own, however much room the open one has.
    CHECK(producer.produce_sync({.topic = "t", .value = "sync", .partition = PartitionId(0)})
              .code() == Code::timed_out);
    CHECK(producer.outstanding() == expected.size());

    // Once the batches are appended, their shares are back.
    gate_closed.open();
    REQUIRE(producer.flush().is_ok());
    REQUIRE(produce_to(producer, 4, "after").is_ok());
    expected.push_back({4, "after"});
    for (std::int32_t p = 1; p < 4; ++p) {
        REQUIRE(produce_to(producer, p, kLargeValue).is_ok());
        expected.push_back({p, kLargeValue});
    }
    REQUIRE(producer.flush().is_ok());
    CHECK(producer.outstanding() == 0);
    check_log(*store, expected);
}

TEST_CASE_TEMPLATE("a batch's share of buffer.memory is free once its records are reported",
                   Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", kPartitions).is_ok());
    // Every record goes through a batch that only flush() seals, however slowly they come.
    client::testing::append_after_pause.store(false);
    struct Restore {
        ~Restore() { client::testing::append_after_pause.store(true); }
    } restore;
    const auto owned = full_producer(*store, "0");
    Producer& producer = *owned;
    std::vector<Expected> expected;
    fill_buffer(producer, expected);

    // A second thread flushes, and stops at the gate once the first batch it appended has its
    // records reported: with acks=1 that is when flush() may return.
    ClosedGate gate_closed(client::testing::after_report);
    Status flushed = Status::ok();
    std::thread flusher([&] { flushed = producer.flush(60s); });
    // However the test ends, the flusher is let through and joined before the gate goes.
    struct Join {
        ClosedGate& gate;
        std::thread& thread;
        ~Join() {
            gate.open();
            if (thread.joinable()) thread.join();
        }
    } join{gate_closed, flusher};
    REQUIRE(gate_closed.wait_entered());
    // That batch's share is back, so a record that needs a new batch gets in at once
    // (max.block.ms = 0), while the thread that reported it still holds the partition.
    const Status after_report = produce_to(producer, 4, "after report");
    CHECK_MESSAGE(after_report.is_ok(), after_report.to_string());
    if (after_report.is_ok()) expected.push_back({4, "after report"});
    gate_closed.open();
    // The flush waits for that record too, and does not let its batch linger for linger.ms
    // (600 s here): as in Kafka's producers, a batch opened during a flush is due at once.
    flusher.join();
    REQUIRE_MESSAGE(flushed.is_ok(), flushed.to_string());
    CHECK(producer.outstanding() == 0);
    check_log(*store, expected);
}

TEST_CASE_TEMPLATE(
    "a produce call that finds buffer.memory full waits, and lingering batches "
    "are sealed for it",
    Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", kPartitions).is_ok());
    ClosedGate gate_closed;
    const auto owned = full_producer(*store, "600000");
    Producer& producer = *owned;

    std::vector<Expected> expected;
    fill_buffer(producer, expected);
    enum class Call { produce, batch, sync };
    for (const Call call : {Call::produce, Call::batch, Call::sync}) {
        CAPTURE(static_cast<int>(call));
        std::mutex mu;
        bool returned = false;
        Status status = Status::ok();
        std::thread waiter([&] {
            const BatchRecord records[] = {{.key = "k", .value = "waited"}};
            Status s = Status::ok();
            switch (call) {
                case Call::produce: s = produce_to(producer, 4, "waited"); break;
                case Call::batch: s = producer.produce_batch("t", PartitionId(4), records); break;
                case Call::sync:
                    s = producer
                            .produce_sync({.topic = "t",
                                           .key = "k",
                                           .value = "waited",
                                           .partition = PartitionId(4)})
                            .status();
                    break;
            }
            std::lock_guard lock(mu);
            returned = true;
            status = s;
        });
        // The open batches linger for ten minutes: the sender appends them now only because
        // the waiting call made them due. Their shares come back only once the gate opens.
        REQUIRE(gate_closed.wait_entered());
        {
            std::lock_guard lock(mu);
            CHECK_FALSE(returned);
        }
        gate_closed.open();
        waiter.join();
        CHECK_MESSAGE(status.is_ok(), status.to_string());
        expected.push_back({4, "waited"});
        REQUIRE(producer.flush().is_ok());

        // Fill buffer.memory again for the next kind of call, with the gate closed.
        gate_closed.close();
        fill_buffer(producer, expected);
    }
    gate_closed.open();
    REQUIRE(producer.flush().is_ok());
    check_log(*store, expected);
}

TEST_CASE_TEMPLATE("a record larger than buffer.memory is refused as too large", Fixture,
                   MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", kPartitions).is_ok());
    const auto owned = full_producer(*store, "600000");
    Producer& producer = *owned;

    const Status refused = produce_to(producer, 0, std::string(5000, 'x'));
    CHECK(refused.code() == Code::record_too_large);
    CHECK(refused.message().find("buffer.memory = 4096") != std::string::npos);
    CHECK(producer.outstanding() == 0);
    // Below buffer.memory but above batch.size: a batch of its own.
    const std::string large(3000, 'y');
    REQUIRE(produce_to(producer, 0, large).is_ok());
    REQUIRE(producer.flush().is_ok());
    check_log(*store, {{0, large}});
}

TEST_CASE_TEMPLATE("four threads against a buffer.memory of two batches store every record once",
                   Fixture, MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", kPartitions).is_ok());
    auto created = Producer::create(*store, {{"linger.ms", "1"},
                                             {"batch.size", "1024"},
                                             {"buffer.memory", "2048"},
                                             {"max.block.ms", "600000"}});
    REQUIRE_MESSAGE(created.is_ok(), created.status().to_string());
    Producer& producer = **created;

    constexpr int kThreads = 4;
    constexpr int kPerThread = 3000;
    std::vector<Status> failures[kThreads];
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const std::string value = std::to_string(t) + ":" + std::to_string(i);
                const std::int32_t partition = (t + i / 100) % kPartitions;
                Status status = Status::ok();
                if (t == 3) {
                    const BatchRecord records[] = {{.key = "k", .value = value}};
                    status = producer.produce_batch("t", PartitionId(partition), records);
                } else {
                    status = produce_to(producer, partition, value + std::string(i % 200, '.'));
                }
                if (!status.is_ok()) failures[t].push_back(status);
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    REQUIRE(producer.flush().is_ok());
    for (const auto& f : failures) CHECK(f.empty());

    // Each thread's records, in each partition, in the order the thread produced them.
    std::map<std::pair<int, std::int32_t>, std::vector<int>> seen;
    std::size_t stored = 0;
    for (const Stored& s : read_all(*store, "t", kPartitions)) {
        const std::string& v = s.value.value();
        const std::size_t colon = v.find(':');
        const int t = std::stoi(v.substr(0, colon));
        const int i = std::stoi(v.substr(colon + 1));
        seen[{t, s.partition}].push_back(i);
        ++stored;
    }
    CHECK(stored == kThreads * kPerThread);
    for (int t = 0; t < kThreads; ++t) {
        for (std::int32_t p = 0; p < kPartitions; ++p) {
            std::vector<int> want;
            for (int i = 0; i < kPerThread; ++i) {
                if ((t + i / 100) % kPartitions == p) want.push_back(i);
            }
            CHECK(seen[{t, p}] == want);
        }
    }
}

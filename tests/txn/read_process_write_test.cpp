// Exactly-once read-process-write under kill -9: a forked child consumes `in` (read_committed,
// no auto-commit), produces one result per input to `out` (3 partitions) in a transaction
// that also carries the consumer's offsets, and aborts one transaction in five (rewinding to
// the committed offsets, as a Kafka application does). Some cycles also resend every batch,
// as a retry after a lost acknowledgement would. The parent kills the child with SIGKILL at a
// random moment, again and again, and after every kill reopens the store and checks:
//   - `out`, read with read_committed, holds the result of every input below the group's
//     committed offset exactly once, and nothing else (offsets and results are atomic);
//   - the results of each input partition appear in input order within an output partition.
// After the kills a last child runs to the end, and then every input has exactly one result.
//
// BROOK_RPW_CYCLES=N and BROOK_RPW_SEED=S change the number of kills and their timing.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brook/brook.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>

#include "api/txn_util.hpp"
#include "client/producer_testing.hpp"
#include "support/killed_child.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook_test;

namespace {

constexpr int kInPartitions = 2;
constexpr int kOutPartitions = 3;
constexpr int kInputsPerPartition = 150;
constexpr const char* kGroup = "rpw";

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

void write_line(int fd, const std::string& line) {
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(4);
}

std::string input_value(int partition, int index) {
    return fmt::format("in-{}-{}", partition, index);
}

// The child: processes inputs until all are done ("D") or it is killed. Never returns.
[[noreturn]] void run_child(const std::string& path, int fd, std::uint64_t seed, bool resend) {
    auto fail = [fd](const std::string& what) {
        write_line(fd, "E " + what + "\n");
        ::_exit(3);
    };
    auto check = [&](const Status& s, const char* what) {
        if (!s.is_ok()) fail(std::string(what) + ": " + s.to_string());
    };
    client::testing::resend_batches.store(resend);
    auto store = Store::open(path);
    if (!store.is_ok()) fail("open: " + store.status().to_string());
    auto consumer = Consumer::create(**store, {{"group.id", kGroup},
                                               {"enable.auto.commit", "false"},
                                               {"auto.offset.reset", "earliest"},
                                               {"isolation.level", "read_committed"}});
    if (!consumer.is_ok()) fail("consumer: " + consumer.status().to_string());
    std::vector<TopicPartitionOffset> assignment;
    std::vector<TopicPartition> inputs;
    for (int p = 0; p < kInPartitions; ++p) {
        assignment.push_back({"in", PartitionId(p), kOffsetInvalid});
        inputs.push_back({"in", PartitionId(p)});
    }
    check((*consumer)->assign(assignment), "assign");
    auto producer = Producer::create(**store, {{"transactional.id", "rpw"}, {"linger.ms", "1"}});
    if (!producer.is_ok()) fail("producer: " + producer.status().to_string());
    check((*producer)->init_transactions(), "init_transactions");
    auto metadata = (*consumer)->group_metadata();
    if (!metadata.is_ok()) fail("group_metadata: " + metadata.status().to_string());
    write_line(fd, "R\n");

    std::mt19937_64 random(seed);
    for (;;) {
        check((*producer)->begin_transaction(), "begin");
        const auto batch = (*consumer)->consume(1 + random() % 20, std::chrono::milliseconds(20));
        for (const Message& m : batch) {
            if (!m.error().is_ok()) fail("poll: " + m.error().to_string());
            const std::string value(*m.value());
            check((*producer)->produce({.topic = "out", .key = value, .value = "r:" + value}),
                  "produce");
        }
        auto positions = (*consumer)->position(inputs);
        if (!positions.is_ok()) fail("position: " + positions.status().to_string());
        std::vector<TopicPartitionOffset> offsets;
        bool all_done = true;
        for (const auto& position : *positions) {
            if (position.offset >= Offset(0)) offsets.push_back(position);
            all_done = all_done && position.offset == Offset(kInputsPerPartition);
        }
        check((*producer)->send_offsets_to_transaction(offsets, *metadata), "send_offsets");
        if (!batch.empty() && random() % 5 == 0) {
            check((*producer)->abort_transaction(), "abort");
            auto committed = (*consumer)->committed(inputs);
            if (!committed.is_ok()) fail("committed: " + committed.status().to_string());
            for (auto c : *committed) {
                if (c.offset == kOffsetInvalid) c.offset = kOffsetBeginning;
                check((*consumer)->seek(c), "seek");
            }
            continue;
        }
        check((*producer)->commit_transaction(), "commit");
        if (all_done) {
            write_line(fd, "D\n");
            ::_exit(0);
        }
    }
}

// Runs a child; kills it `run_for` after it is ready unless `run_for` is negative (then waits
// for it to finish). Returns whether it finished all inputs.
bool run_child_process(const std::string& path, std::uint64_t seed, bool resend,
                       std::chrono::microseconds run_for) {
    const brook::testing::ChildOutcome child = brook::testing::run_killed_child(
        [&](int fd) { run_child(path, fd, seed, resend); }, run_for);
    REQUIRE_MESSAGE(child.received.find("E ") == std::string::npos,
                    "the child failed: ", child.received);
    const bool done = child.received.find("D\n") != std::string::npos;
    CHECK_MESSAGE((WIFSIGNALED(child.status) || done), "the child stopped early: ", child.received);
    return done;
}

// Checks the exactly-once invariant; returns the number of inputs committed so far.
std::int64_t check_exactly_once(const std::string& path) {
    auto opened = Store::open(path);
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
    Store& store = **opened;
    auto group = Consumer::create(store, {{"group.id", kGroup}});
    REQUIRE(group.is_ok());
    std::vector<TopicPartition> inputs;
    for (int p = 0; p < kInPartitions; ++p) inputs.push_back({"in", PartitionId(p)});
    auto committed = (*group)->committed(inputs);
    REQUIRE(committed.is_ok());
    std::map<std::string, int> expected;
    std::int64_t total = 0;
    for (const auto& c : *committed) {
        const std::int64_t upto = c.offset == kOffsetInvalid ? 0 : c.offset.value();
        REQUIRE(upto <= kInputsPerPartition);
        total += upto;
        for (std::int64_t i = 0; i < upto; ++i) {
            expected["r:" + input_value(c.partition.value(), static_cast<int>(i))] = 1;
        }
    }
    std::map<std::string, int> found;
    const auto out = read_topic(store, "out", kOutPartitions, "read_committed");
    for (const auto& [partition, records] : out) {
        std::map<int, int> last_index;  // per input partition
        for (const auto& r : records) {
            ++found[r.value];
            int in_partition = -1, index = -1;
            REQUIRE(std::sscanf(r.value.c_str(), "r:in-%d-%d", &in_partition, &index) == 2);
            auto [it, fresh] = last_index.try_emplace(in_partition, index);
            if (!fresh) {
                CHECK_MESSAGE(index > it->second, "results out of input order in out/", partition);
                it->second = index;
            }
        }
    }
    for (const auto& [value, count] : found) {
        CAPTURE(value);
        CHECK_MESSAGE(count == 1, "a result appears more than once");
        CHECK_MESSAGE(expected.contains(value), "a result of an input not committed");
    }
    for (const auto& [value, count] : expected) {
        CAPTURE(value);
        CHECK_MESSAGE(found.contains(value), "a committed input has no result");
    }
    REQUIRE(store.close().is_ok());
    return total;
}

}  // namespace

TEST_CASE("read-process-write with aborts and kill -9 produces each result exactly once") {
    const std::uint64_t cycles = env_number("BROOK_RPW_CYCLES", 30);
    const std::uint64_t seed = env_number("BROOK_RPW_SEED", 20261126);
    std::mt19937_64 random(seed);
    testing::PosixEnv env;
    const std::string path = env.root() + "/store";
    {
        auto store = Store::open(path);
        REQUIRE(store.is_ok());
        REQUIRE((*store)->create_topic("in", kInPartitions).is_ok());
        REQUIRE((*store)->create_topic("out", kOutPartitions, {{"segment.bytes", "4096"}}).is_ok());
        auto producer = make_producer(**store);
        for (int p = 0; p < kInPartitions; ++p) {
            for (int i = 0; i < kInputsPerPartition; ++i) {
                REQUIRE(producer
                            ->produce({.topic = "in",
                                       .value = input_value(p, i),
                                       .partition = PartitionId(p)})
                            .is_ok());
            }
        }
        REQUIRE(producer->flush().is_ok());
    }
    std::int64_t progress = 0;
    bool done = false;
    std::uint64_t kills = 0;
    for (std::uint64_t cycle = 0; cycle < cycles && !done; ++cycle) {
        CAPTURE(cycle);
        const auto run_for = std::chrono::microseconds(random() % 60'000);
        done = run_child_process(path, seed + cycle, cycle % 3 == 1, run_for);
        kills += done ? 0 : 1;
        const std::int64_t now = check_exactly_once(path);
        CHECK(now >= progress);  // committed offsets never move back
        progress = now;
    }
    if (!done) done = run_child_process(path, seed, false, std::chrono::microseconds(-1));
    REQUIRE(done);
    CHECK(check_exactly_once(path) == kInPartitions * kInputsPerPartition);
    MESSAGE("read-process-write: ", kills, " kills, ", progress,
            " inputs committed before the last run");
}

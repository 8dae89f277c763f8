// Transactions across crashes and reopening, on the real disk:
//   - a child killed with SIGKILL while a transaction is open: on reopen the transaction is
//     aborted (the LSO is the log end again), read_committed never sees its records, its
//     offsets are not committed, and the transactional.id works again;
//   - a commit decided (prepare_commit in the metadata store) but whose markers were never
//     written: reopening rolls it forward, markers and offsets both;
//   - producer ids are never handed out twice, across reopening.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brook/brook.hpp>
#include <set>

#include "api/txn_util.hpp"
#include "meta/meta_store.hpp"
#include "store/store_core.hpp"
#include "support/test_env.hpp"
#include "txn/coordinator.hpp"
#include "txn/txn_format.hpp"
#include "txn/txn_record.hpp"

using namespace brook;
using namespace brook_test;

namespace {

ProducerRecord to_partition(const std::string& topic, int partition, const std::string& value) {
    return {.topic = topic, .key = value, .value = value, .partition = PartitionId(partition)};
}

Offset committed_offset(Store& store, const std::string& group, const TopicPartition& tp) {
    auto consumer = Consumer::create(store, {{"group.id", group}});
    REQUIRE(consumer.is_ok());
    auto committed = (*consumer)->committed({tp});
    REQUIRE(committed.is_ok());
    return committed->front().offset;
}

}  // namespace

TEST_CASE("kill -9 with a transaction open: aborted on reopen, invisible to read_committed") {
    testing::PosixEnv env;
    const std::string path = env.root() + "/store";
    {
        auto store = Store::open(path);
        REQUIRE(store.is_ok());
        REQUIRE((*store)->create_topic("in", 1).is_ok());
        REQUIRE((*store)->create_topic("out", 3).is_ok());
    }
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // Any failure exits with a code the parent reports; success ends in SIGKILL.
        auto store = Store::open(path);
        if (!store.is_ok()) ::_exit(10);
        auto producer = Producer::create(**store, {{"transactional.id", "app"}, {"acks", "all"}});
        auto consumer = Consumer::create(**store, {{"group.id", "g"}});
        if (!producer.is_ok() || !consumer.is_ok()) ::_exit(11);
        auto metadata = (*consumer)->group_metadata();
        if (!(*producer)->init_transactions().is_ok()) ::_exit(12);
        // One record per partition, then the consumed offset; exits with `code` or `code + 1`.
        auto produce_and_send_offsets = [&](const std::string& prefix, Offset consumed, int code) {
            for (int p = 0; p < 3; ++p) {
                auto record = to_partition("out", p, prefix + std::to_string(p));
                if (!(*producer)->produce_sync(record).is_ok()) ::_exit(code);
            }
            const TopicPartitionOffset offsets{"in", PartitionId(0), consumed};
            if (!(*producer)->send_offsets_to_transaction({offsets}, *metadata).is_ok()) {
                ::_exit(code + 1);
            }
        };
        if (!(*producer)->begin_transaction().is_ok()) ::_exit(13);
        produce_and_send_offsets("kept", Offset(3), 14);
        if (!(*producer)->commit_transaction().is_ok()) ::_exit(16);
        if (!(*producer)->begin_transaction().is_ok()) ::_exit(17);
        produce_and_send_offsets("lost", Offset(9), 18);
        ::raise(SIGKILL);
        ::_exit(20);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE_MESSAGE(WIFSIGNALED(status), "the child exited with ", WEXITSTATUS(status));

    auto store = Store::open(path);
    REQUIRE(store.is_ok());
    CHECK(values_of(read_topic(**store, "out", 3, "read_committed")) ==
          std::vector<std::string>{"kept0", "kept1", "kept2"});
    CHECK(values_of(read_topic(**store, "out", 3, "read_uncommitted")).size() == 6);
    auto reader = Consumer::create(**store, {{"isolation.level", "read_committed"}});
    auto plain = Consumer::create(**store);
    for (int p = 0; p < 3; ++p) {
        const TopicPartition tp{"out", PartitionId(p)};
        CHECK((*reader)->get_watermark_offsets(tp).value().high ==
              (*plain)->get_watermark_offsets(tp).value().high);
    }
    CHECK(committed_offset(**store, "g", {"in", PartitionId(0)}) == Offset(3));

    auto again = make_txn_producer(**store, "app");
    REQUIRE(again->begin_transaction().is_ok());
    REQUIRE(again->produce(to_partition("out", 0, "next")).is_ok());
    REQUIRE(again->commit_transaction().is_ok());
    CHECK(values_of(read_topic(**store, "out", 3, "read_committed")) ==
          std::vector<std::string>{"kept0", "next", "kept1", "kept2"});
}

TEST_CASE("a decided commit whose markers were not written rolls forward on reopen") {
    testing::PosixEnv env;
    const std::string path = env.root() + "/store";
    txn::ProducerIdAndEpoch producer_id;
    {
        auto store = Store::open(path);
        REQUIRE(store.is_ok());
        REQUIRE((*store)->create_topic("in", 1).is_ok());
        REQUIRE((*store)->create_topic("out", 2).is_ok());
        auto producer = make_txn_producer(**store, "app");
        REQUIRE(producer->begin_transaction().is_ok());
        REQUIRE(producer->produce_sync(to_partition("out", 0, "a")).is_ok());
        REQUIRE(producer->produce_sync(to_partition("out", 1, "b")).is_ok());
        auto& coordinator = (*store)->core()->transactions();
        auto record = coordinator.describe("app");
        REQUIRE(record.has_value());
        CHECK(record->state == txn::TxnState::ongoing);
        CHECK(record->partitions.size() == 2);
        // What commit_transaction writes before the markers, as a crash would leave it.
        txn::TxnRecord decided = *record;
        decided.state = txn::TxnState::prepare_commit;
        decided.pending_offsets["g"][{"in", PartitionId(0)}] = Offset(42);
        REQUIRE(
            (*store)
                ->core()
                ->meta()
                .put(txn::format::kTxnSpace, txn::record_key("app"), txn::encode_record(decided))
                .is_ok());
        CHECK(values_of(read_topic(**store, "out", 2, "read_committed")).empty());
        producer_id = {record->producer_id, record->producer_epoch};
        // The producer is dropped without committing: its transaction stays open in the logs.
    }
    auto store = Store::open(path);
    REQUIRE(store.is_ok());
    CHECK(values_of(read_topic(**store, "out", 2, "read_committed")) ==
          std::vector<std::string>{"a", "b"});
    CHECK(committed_offset(**store, "g", {"in", PartitionId(0)}) == Offset(42));
    auto record = (*store)->core()->transactions().describe("app");
    REQUIRE(record.has_value());
    CHECK(record->state == txn::TxnState::empty);
    CHECK(record->producer_id == producer_id.id);
    CHECK(record->partitions.empty());
}

TEST_CASE("producer ids are unique across reopening and epochs grow per transactional.id") {
    testing::PosixEnv env;
    const std::string path = env.root() + "/store";
    std::set<std::int64_t> seen;
    std::int16_t last_epoch = -1;
    std::int64_t app_id = -1;
    for (int round = 0; round < 3; ++round) {
        auto store = Store::open(path);
        REQUIRE(store.is_ok());
        auto& coordinator = (*store)->core()->transactions();
        for (int i = 0; i < 5; ++i) {
            auto id = coordinator.new_producer_id();
            REQUIRE(id.is_ok());
            CHECK(id->epoch == 0);
            CHECK(seen.insert(id->id).second);
        }
        auto app = coordinator.init_producer("app", 60000);
        REQUIRE(app.is_ok());
        if (app_id < 0) {
            app_id = app->id;
            CHECK(seen.insert(app_id).second);
        }
        CHECK(app->id == app_id);
        CHECK(app->epoch == last_epoch + 1);
        last_epoch = app->epoch;
    }
}

// The transaction record codec and producer id blocks (src/txn/), and idempotence through the
// Producer: every batch appended twice (a retry after a lost acknowledgement, injected) is
// stored once and acknowledged with its original offsets.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <map>
#include <set>

#include "api/api_env.hpp"
#include "api/txn_util.hpp"
#include "client/producer_testing.hpp"
#include "meta/meta_store.hpp"
#include "store/store_core.hpp"
#include "support/test_env.hpp"
#include "txn/producer_id_manager.hpp"
#include "txn/txn_format.hpp"
#include "txn/txn_record.hpp"

using namespace brook;
using namespace brook_test;

namespace {

txn::TxnRecord sample_record() {
    txn::TxnRecord r;
    r.producer_id = 1234;
    r.producer_epoch = 7;
    r.state = txn::TxnState::prepare_commit;
    r.timeout_ms = 5000;
    r.start_ms = 1'700'000'000'000;
    r.partitions = {{"out", PartitionId(0)}, {"out", PartitionId(2)}, {"audit", PartitionId(1)}};
    r.pending_offsets["g1"][{"in", PartitionId(0)}] = Offset(17);
    r.pending_offsets["g1"][{"in", PartitionId(3)}] = Offset(4);
    r.pending_offsets["g2"][{"other", PartitionId(0)}] = Offset(0);
    return r;
}

// Resets the injected fault however the test ends.
struct ResendBatches {
    ResendBatches() { client::testing::resend_batches.store(true); }
    ~ResendBatches() { client::testing::resend_batches.store(false); }
};

}  // namespace

TEST_CASE("transaction records round-trip and every damaged byte is caught") {
    const txn::TxnRecord record = sample_record();
    const std::string bytes = txn::encode_record(record);
    auto decoded = txn::decode_record("app", bytes);
    REQUIRE(decoded.is_ok());
    CHECK(*decoded == record);
    txn::TxnRecord bare;
    bare.producer_id = 0;
    bare.producer_epoch = 0;
    CHECK(*txn::decode_record("app", txn::encode_record(bare)) == bare);

    for (std::size_t i = 0; i < bytes.size(); ++i) {
        std::string damaged = bytes;
        damaged[i] = static_cast<char>(damaged[i] ^ 0x40);
        CAPTURE(i);
        CHECK(txn::decode_record("app", damaged).code() == Code::corruption);
    }
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        CAPTURE(n);
        CHECK(txn::decode_record("app", bytes.substr(0, n)).code() == Code::corruption);
    }
    CHECK(txn::validate_transactional_id("").code() == Code::invalid_argument);
    CHECK(txn::validate_transactional_id(std::string("a\0b", 3)).code() == Code::invalid_argument);
    CHECK(txn::validate_transactional_id(std::string(250, 'x')).code() == Code::invalid_argument);
    CHECK(txn::validate_transactional_id("orders-service").is_ok());
    CHECK(txn::id_of_key(txn::record_key("orders")) == "orders");
}

TEST_CASE_TEMPLATE("producer ids come in blocks and are never reused", Env, testing::PosixEnv,
                   testing::MemoryEnv) {
    Env env;
    std::unique_ptr<meta::MetaStore> meta;
    if constexpr (std::is_same_v<Env, testing::PosixEnv>) {
        meta = meta::open_lmdb_meta_store(env.root() + "/meta", {}).value();
    } else {
        meta = meta::new_memory_meta_store();
    }
    std::set<std::int64_t> seen;
    std::int64_t last = -1;
    for (int manager = 0; manager < 3; ++manager) {
        txn::ProducerIdManager ids(*meta);
        for (int i = 0; i < 1500; ++i) {
            auto id = ids.allocate();
            REQUIRE(id.is_ok());
            CHECK(*id > last);
            last = *id;
            CHECK(seen.insert(*id).second);
        }
    }
    // A damaged counter is reported, never guessed.
    REQUIRE(meta->put(txn::format::kTxnSpace, txn::format::kProducerIdBlockKey, "xyz").is_ok());
    CHECK(txn::ProducerIdManager(*meta).allocate().code() == Code::corruption);
}

TEST_CASE_TEMPLATE("batches resent by an idempotent producer are stored once", Fixture, MemoryStore,
                   DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("events", 3).is_ok());
    const ResendBatches resend;
    auto producer = make_producer(*store, {{"linger.ms", "1"}, {"batch.size", "200"}});
    std::map<std::string, std::pair<int, std::int64_t>> acked;  // value -> partition, offset
    int failures = 0;
    for (int i = 0; i < 300; ++i) {
        const std::string value = "e" + std::to_string(i);
        if (i % 10 == 0) {
            auto report = producer->produce_sync({.topic = "events", .key = value, .value = value});
            REQUIRE(report.is_ok());
            acked[value] = {report->partition.value(), report->offset.value()};
            continue;
        }
        REQUIRE(producer
                    ->produce({.topic = "events", .key = value, .value = value},
                              [&, value](const DeliveryReport& r) {
                                  if (!r.error.is_ok()) ++failures;
                                  acked[value] = {r.partition.value(), r.offset.value()};
                              })
                    .is_ok());
    }
    REQUIRE(producer->flush().is_ok());
    CHECK(failures == 0);
    REQUIRE(acked.size() == 300);
    // Each record once, at the offset its report gave, with offsets dense from 0.
    const auto read = read_topic(*store, "events", 3, "read_uncommitted");
    std::size_t total = 0;
    for (const auto& [partition, records] : read) {
        for (std::size_t n = 0; n < records.size(); ++n) {
            const auto& r = records[n];
            CHECK(r.offset == static_cast<std::int64_t>(n));
            REQUIRE(acked.contains(r.value));
            CHECK(acked[r.value] == std::make_pair(partition, r.offset));
        }
        total += records.size();
    }
    CHECK(total == 300);

    // The same inside transactions: duplicates of transactional batches are dropped too.
    auto txn_producer = make_txn_producer(*store, "dedupe", {{"batch.size", "200"}});
    REQUIRE(txn_producer->begin_transaction().is_ok());
    for (int i = 0; i < 60; ++i) {
        REQUIRE(txn_producer
                    ->produce({.topic = "events",
                               .value = "t" + std::to_string(i),
                               .partition = PartitionId(i % 3)})
                    .is_ok());
    }
    REQUIRE(txn_producer->commit_transaction().is_ok());
    const auto after = read_topic(*store, "events", 3, "read_committed");
    CHECK(values_of(after).size() == 360);
}

TEST_CASE("an idempotent producer whose sequence the log refuses becomes fatal") {
    auto store = MemoryStore().open();
    REQUIRE(store->create_topic("events", 1).is_ok());
    // The first producer id of a new store is 0.
    auto producer = make_producer(*store, {{"linger.ms", "0"}});
    REQUIRE(producer->produce_sync({.topic = "events", .value = "a"}).is_ok());
    REQUIRE(producer->produce_sync({.topic = "events", .value = "b"}).is_ok());
    auto partition = store->core()->partition("events", PartitionId(0));
    REQUIRE(partition.is_ok());
    auto state = (*partition)->log->producer_state(0);
    REQUIRE(state.has_value());
    CHECK(state->last_sequence() == 1);
    // Another writer with the same id takes sequences 2 and 3, so the producer's next batch
    // (sequence 2, one record) is neither a duplicate nor the next in order.
    std::vector<log::Record> records(2);
    records[0].value = "x";
    records[1].value = "y";
    auto bytes =
        log::encode_batch(records, {.producer_id = 0, .producer_epoch = 0, .base_sequence = 2});
    REQUIRE(bytes.is_ok());
    REQUIRE(store->core()->append(**partition, *bytes, false).is_ok());

    auto refused = producer->produce_sync({.topic = "events", .value = "c"});
    CHECK(refused.code() == Code::out_of_order_sequence);
    CHECK(producer->produce({.topic = "events", .value = "d"}) == Code::out_of_order_sequence);
    CHECK(values_of(read_topic(*store, "events", 1, "read_uncommitted")) ==
          std::vector<std::string>{"a", "b", "x", "y"});
}

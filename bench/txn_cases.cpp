// txn-100x3: the cost of a transaction. Each transaction produces 100 records of 100 bytes
// round-robin across 3 partitions and commits; the same case then produces the same records
// without transactions, flushing every 100 with acks=all, which makes them durable as a
// commit does. The row times the transactions (p50/p99 = one whole transaction); a note gives
// the plain figures and the ratio.
#include <fmt/format.h>

#include "brook_engine.hpp"

namespace brook::bench {
namespace {

constexpr int kPartitions = 3;
constexpr std::int64_t kPerTransaction = 100;

ProducerRecord spread_record(const RecordGen& gen, const std::string& topic, std::int64_t i) {
    ProducerRecord record = bench_record(gen, i);
    record.topic = topic;
    record.partition = PartitionId(static_cast<std::int32_t>(i % kPartitions));
    return record;
}

// Runs `one_group(first)` for every group of kPerTransaction records; returns seconds.
template <typename Group>
double timed_groups(const Spec& spec, Latencies& latencies, Group&& one_group) {
    Stopwatch watch;
    for (std::int64_t first = 0; first < spec.records; first += kPerTransaction) {
        const std::int64_t start = now_ns();
        one_group(first);
        latencies.add_ns(now_ns() - start);
    }
    return watch.seconds();
}

Row txn_100x3(const Spec& spec) {
    const RecordGen gen(spec.value_bytes);
    Row row = base_row(spec, gen);
    row.batch = kPerTransaction;
    auto store = open_store(spec.dir + "/store");
    check(store->create_topic("txn", kPartitions, bench_topic_config()), "create_topic txn");
    check(store->create_topic("plain", kPartitions, bench_topic_config()), "create_topic plain");

    auto transactional = Producer::create(
        *store, {{"transactional.id", "bench"}, {"linger.ms", "5"}, {"batch.size", "1048576"}});
    if (!transactional.is_ok()) die("Producer::create: " + transactional.status().to_string());
    check((*transactional)->init_transactions(), "init_transactions");
    Latencies txn_latencies;
    row.seconds = timed_groups(spec, txn_latencies, [&](std::int64_t first) {
        check((*transactional)->begin_transaction(), "begin_transaction");
        for (std::int64_t i = first; i < first + kPerTransaction; ++i) {
            check((*transactional)->produce(spread_record(gen, "txn", i)), "produce");
        }
        check((*transactional)->commit_transaction(), "commit_transaction");
    });
    txn_latencies.fill(row);

    auto plain =
        Producer::create(*store, {{"acks", "all"}, {"linger.ms", "5"}, {"batch.size", "1048576"}});
    if (!plain.is_ok()) die("Producer::create: " + plain.status().to_string());
    Latencies plain_latencies;
    const double plain_seconds = timed_groups(spec, plain_latencies, [&](std::int64_t first) {
        for (std::int64_t i = first; i < first + kPerTransaction; ++i) {
            check((*plain)->produce(spread_record(gen, "plain", i)), "produce");
        }
        check((*plain)->flush(), "flush");
    });
    Row plain_row = row;
    plain_latencies.fill(plain_row);
    row.notes.push_back(
        fmt::format("plain produce of the same records (acks=all, flush every 100): {:.0f} "
                    "records/s, p50 {:.0f} us per 100; a transaction costs {:.2f}x",
                    double(spec.records) / plain_seconds, plain_row.p50_us.value_or(0),
                    row.seconds / plain_seconds));
    return row;
}

}  // namespace

BROOK_BENCH_CASE("txn-100x3", "brook", txn_100x3);

}  // namespace brook::bench

// brook's consumer-group, compaction and retention workloads (group-4x8, compaction,
// retention). Each checks its outcome before it produces a row.

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "brook_engine.hpp"

namespace brook::bench {
namespace {

using namespace std::chrono_literals;

constexpr int kGroupMembers = 4;
constexpr int kGroupPartitions = 8;

// Four consumers of one group on a topic of 8 partitions, each polling on a thread of its own.
// The rebalance time runs from the first subscribe() until every member holds its 2 partitions;
// then a producer writes the records (round-robin over the partitions) and the end-to-end time
// runs until the group has consumed every one of them, each exactly once and in order.
Row group_4x8(const Spec& spec) {
    const RecordGen gen(spec.value_bytes);
    Row row = base_row(spec, gen);
    auto store = open_store(spec.dir + "/store");
    check(store->create_topic(kBenchTopic, kGroupPartitions, bench_topic_config()), "create_topic");

    struct Member {
        std::atomic<std::size_t> assigned{0};
        std::atomic<std::int64_t> assigned_at_ns{0};
        std::vector<std::int64_t> next_offset = std::vector<std::int64_t>(kGroupPartitions, 0);
    };
    std::vector<Member> members(kGroupMembers);
    std::atomic<std::int64_t> consumed{0};
    std::atomic<bool> stop{false};
    std::atomic<bool> failed{false};

    const std::int64_t start_ns = now_ns();
    std::vector<std::thread> threads;
    for (int m = 0; m < kGroupMembers; ++m) {
        threads.emplace_back([&, m] {
            Member& me = members[static_cast<std::size_t>(m)];
            auto consumer = Consumer::create(
                *store, {{"group.id", "bench-group"}, {"auto.offset.reset", "earliest"}});
            if (!consumer.is_ok() || !(*consumer)->subscribe({kBenchTopic}).is_ok()) {
                failed = true;
                return;
            }
            while (!stop && !failed) {
                for (const Message& msg : (*consumer)->consume(1000, 5ms)) {
                    if (!msg.error().is_ok()) {
                        failed = true;
                        break;
                    }
                    // Each partition's records arrive once, in offset order; record i went to
                    // partition i % 8 at offset i / 8.
                    const std::int64_t partition = msg.partition().value();
                    std::int64_t& next = me.next_offset[static_cast<std::size_t>(partition)];
                    const std::int64_t i = msg.offset().value() * kGroupPartitions + partition;
                    if (msg.offset().value() != next || msg.value() != gen.value(i)) failed = true;
                    next = msg.offset().value() + 1;
                    consumed.fetch_add(1, std::memory_order_relaxed);
                }
                const std::size_t size = (*consumer)->assignment().size();
                if (size != me.assigned.load()) {
                    me.assigned_at_ns = now_ns();
                    me.assigned = size;
                }
            }
            check((*consumer)->close(), "close");
        });
    }
    const auto stable = [&] {
        for (const Member& me : members) {
            if (me.assigned != kGroupPartitions / kGroupMembers) return false;
        }
        return true;
    };
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (!stable() && !failed && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(1ms);
    }
    if (!stable()) {
        stop = true;
        for (std::thread& t : threads) t.join();
        die("the group of 4 did not settle on 2 partitions each within 60 s");
    }
    std::int64_t settled_ns = 0;
    for (const Member& me : members) settled_ns = std::max(settled_ns, me.assigned_at_ns.load());
    const double rebalance_ms = double(settled_ns - start_ns) / 1e6;

    Stopwatch watch;
    {
        Config config = producer_config(spec);
        // A std::string, not a literal: GCC 12 warns falsely (-Wrestrict, its bug 105329) on
        // assigning a literal to a std::string at -O2.
        config["linger.ms"] = std::string("5");
        auto producer = Producer::create(*store, config);
        if (!producer.is_ok()) die("Producer::create: " + producer.status().to_string());
        for (std::int64_t i = 0; i < spec.records; ++i) {
            ProducerRecord record = bench_record(gen, i);
            record.partition = PartitionId(static_cast<std::int32_t>(i % kGroupPartitions));
            check((*producer)->produce(std::move(record)), "produce");
        }
        check((*producer)->flush(), "flush");
    }
    while (consumed.load() < spec.records && !failed &&
           std::chrono::steady_clock::now() < give_up + 600s) {
        std::this_thread::sleep_for(100us);
    }
    row.seconds = watch.seconds();
    row.notes.push_back(watch.cpu_note());
    stop = true;
    for (std::thread& t : threads) t.join();
    if (failed) die("a group member saw an error, a gap or a duplicate");
    if (consumed.load() != spec.records) die("the group did not consume every record");
    // The rebalance time goes in p50_us: the row's one latency.
    row.p50_us = rebalance_ms * 1000;
    row.notes.push_back("rebalance: " + std::to_string(static_cast<int>(rebalance_ms)) +
                        " ms from the first subscribe() until each of 4 members held 2 of 8 "
                        "partitions (in p50_us); seconds: produce to the last record consumed");
    return row;
}

// All records carry one timestamp, so that segment.ms only rolls the active segment when the
// case moves the clock past it.
constexpr std::int64_t kSegmentMs = 60'000;

// A store on `clock` whose maintenance runs only when the case calls run_maintenance().
std::unique_ptr<Store> open_manual_store(const Spec& spec, std::shared_ptr<ManualClock> clock) {
    Options options;
    options.clock = std::move(clock);
    options.background_maintenance = false;
    return open_store(spec.dir + "/store", options);
}

ProducerRecord timed_record(const RecordGen& gen, std::int64_t i, std::int64_t key,
                            std::int64_t timestamp) {
    ProducerRecord record = bench_record(gen, i);
    char bytes[8];
    gen.key(key, bytes);
    record.key = std::string(bytes, 8);
    record.timestamp = timestamp;
    return record;
}

// A compacted topic of records.count records of 100 B whose keys repeat every tenth of the log,
// so 10% of the records are live; 64 MiB segments. The timed part is maintenance until the log
// is compacted, the formerly active segment included (the clock is moved past segment.ms, and
// the policy includes delete, without a retention limit, so that maintenance rolls it).
// The set-up makes the 1 GB it wrote durable first (the producer's acks=1 does not fsync), so
// that the fsyncs of the cleaned segments do not wait behind its writeback.
// MB/s is of the log's records (key + value bytes).
Row compaction(const Spec& spec) {
    const RecordGen gen(spec.value_bytes);
    Row row = base_row(spec, gen);
    const std::int64_t t0 = base_timestamp_ms();
    auto clock = std::make_shared<ManualClock>(t0);
    auto store = open_manual_store(spec, clock);
    Config config = bench_topic_config();
    // With delete too, maintenance rolls the idle active segment (retention.ms stays -1).
    config["cleanup.policy"] = "compact,delete";
    config["retention.ms"] = "-1";
    config["segment.bytes"] = std::to_string(64 << 20);
    config["segment.ms"] = std::to_string(kSegmentMs);
    config["min.cleanable.dirty.ratio"] = "0.01";
    check(store->create_topic(kBenchTopic, 1, config), "create_topic");
    const std::int64_t live = spec.records / 10;
    {
        auto producer = Producer::create(*store, producer_config(spec));
        if (!producer.is_ok()) die("Producer::create: " + producer.status().to_string());
        for (std::int64_t i = 0; i < spec.records; ++i) {
            check((*producer)->produce(timed_record(gen, i, i % live, t0)), "produce");
        }
        check((*producer)->flush(), "flush");
    }
    auto before = store->describe_topic(kBenchTopic);
    if (!before.is_ok()) die("describe_topic: " + before.status().to_string());
    const std::uint64_t bytes_before = before->partitions.at(0).size_bytes;
    make_durable(spec.dir);
    clock->advance_ms(kSegmentMs + 1);

    Stopwatch watch;
    std::uint64_t compacted = 0;
    for (int pass = 0; pass < 10; ++pass) {
        check(store->run_maintenance(), "run_maintenance");
        const MaintenanceStats stats = store->maintenance_stats();
        if (stats.bytes_compacted == compacted && pass > 0) break;
        compacted = stats.bytes_compacted;
    }
    row.seconds = watch.seconds();
    row.notes.push_back(watch.cpu_note());

    // What is left must be exactly the last record of each key: records [n - live, n).
    auto consumer = Consumer::create(*store, {{"auto.offset.reset", "earliest"}});
    if (!consumer.is_ok()) die("Consumer::create: " + consumer.status().to_string());
    check((*consumer)->assign({{kBenchTopic, PartitionId(0), Offset(0)}}), "assign");
    std::int64_t expect = spec.records - live;
    for (;;) {
        std::vector<Message> messages = (*consumer)->consume(10'000, 0ms);
        if (messages.empty()) break;
        for (const Message& m : messages) {
            check(m.error(), "consume");
            if (m.offset().value() != expect || m.value().value_or("") != gen.value(expect)) {
                die("compaction kept offset " + std::to_string(m.offset().value()) + ", expected " +
                    std::to_string(expect));
            }
            ++expect;
        }
    }
    if (expect != spec.records) die("compaction lost live records");
    auto after = store->describe_topic(kBenchTopic);
    if (!after.is_ok()) die("describe_topic: " + after.status().to_string());
    row.notes.push_back("log of " + std::to_string(bytes_before) + " bytes compacted to " +
                        std::to_string(after->partitions.at(0).size_bytes) + " (" +
                        std::to_string(compacted) + " bytes rewritten); MB/s is of the records");
    return row;
}

// A topic of segments of one batch each (segment.bytes 8 KiB, batches of 100 records), all past
// retention.ms once the clock moves: the timed part is the maintenance pass that deletes them.
Row retention(const Spec& spec) {
    const RecordGen gen(spec.value_bytes);
    Row row = base_row(spec, gen);
    const std::int64_t segments = spec.records;  // 1,000; 100 with --quick
    constexpr std::int64_t kPerSegment = 100;
    const std::int64_t t0 = base_timestamp_ms();
    auto clock = std::make_shared<ManualClock>(t0);
    auto store = open_manual_store(spec, clock);
    Config config = bench_topic_config();
    config["segment.bytes"] = std::to_string(8 << 10);
    config["retention.ms"] = "3600000";
    check(store->create_topic(kBenchTopic, 1, config), "create_topic");
    {
        Config producer_settings = producer_config(spec);
        producer_settings["batch.size"] = "1048576";
        auto producer = Producer::create(*store, producer_settings);
        if (!producer.is_ok()) die("Producer::create: " + producer.status().to_string());
        // One more segment than deleted: the last one is the active segment.
        for (std::int64_t s = 0; s <= segments; ++s) {
            for (std::int64_t r = 0; r < kPerSegment; ++r) {
                const std::int64_t i = s * kPerSegment + r;
                check((*producer)->produce(timed_record(gen, i, i, t0)), "produce");
            }
            check((*producer)->flush(), "flush");
        }
    }
    auto before = store->describe_topic(kBenchTopic);
    if (!before.is_ok()) die("describe_topic: " + before.status().to_string());
    const std::size_t count_before = before->partitions.at(0).segment_count;
    if (count_before < static_cast<std::size_t>(segments + 1)) {
        die("the topic has " + std::to_string(count_before) + " segments, expected " +
            std::to_string(segments + 1));
    }
    clock->advance_ms(3'600'001);

    Stopwatch watch;
    check(store->run_maintenance(), "run_maintenance");
    row.seconds = watch.seconds();
    row.notes.push_back(watch.cpu_note());
    const MaintenanceStats stats = store->maintenance_stats();
    auto after = store->describe_topic(kBenchTopic);
    if (!after.is_ok()) die("describe_topic: " + after.status().to_string());
    const auto& partition = after->partitions.at(0);
    if (stats.segments_deleted < static_cast<std::uint64_t>(segments) ||
        partition.log_start_offset != partition.log_end_offset) {
        die("retention deleted " + std::to_string(stats.segments_deleted) + " segments of " +
            std::to_string(count_before) + "; log start " +
            std::to_string(partition.log_start_offset.value()));
    }
    row.records = static_cast<std::int64_t>(stats.segments_deleted);
    row.record_bytes = 0;
    row.notes.push_back("records = segments deleted (" + std::to_string(stats.bytes_deleted) +
                        " bytes) by one maintenance pass");
    return row;
}

BROOK_BENCH_CASE("group-4x8", "brook", group_4x8);
BROOK_BENCH_CASE("compaction", "brook", compaction);
BROOK_BENCH_CASE("retention", "brook", retention);

}  // namespace
}  // namespace brook::bench

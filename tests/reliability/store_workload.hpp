// The reference workload of the store fault and power-cut sweeps (fault_sweep_test.cpp): what
// it does to a store on the fault-injecting file system, and what the API told it (Outcome).
//
// Steps: create a 2-partition topic kTopic (400-byte segments, retention.ms one hour) and a
// compacted 1-partition topic kCompacted (300-byte segments); produce with acks=all alone and
// in batches sharing an fsync, and keyed records to kCompacted; close cleanly; move the
// ManualClock two hours; reopen; produce with acks=1; consume and commit as group kGroup;
// produce from 3 threads at once with acks=all (their appends share fsyncs: group commit);
// produce more; consume and commit again; delete_records below the committed offset; run one
// maintenance pass (retention of kTopic, compaction of kCompacted); close.
//
// Thread safety: run() is called by one thread; it starts and joins its own threads.
#pragma once

#include <fmt/format.h>

#include <brook/consumer.hpp>
#include <brook/producer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store_core.hpp"
#include "support/fault_fs.hpp"
#include "support/journaled_meta_store.hpp"

namespace brook::testing::sweep {

constexpr const char* kRoot = "/store";
constexpr const char* kTopic = "events";
constexpr int kPartitions = 2;
constexpr const char* kCompacted = "state";  // cleanup.policy=compact, one partition
constexpr int kStateKeys = 3;
constexpr const char* kGroup = "sweepers";
constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kStartMs = 1'000'000;

// One acknowledgement the workload received.
struct Ack {
    std::string topic = kTopic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string value;
    bool durable = false;
    std::uint64_t ops_before = 0;  // mutating operations done when the ack came back
    std::int64_t timestamp = 0;
};

// What a workload run was told by the API, and what it asked to be removed.
struct Outcome {
    std::vector<Ack> acks;
    std::vector<Status> errors;
    std::set<std::string> produced;  // every value handed to the API
    std::set<int> unordered;         // seqs produced by threads at once: no order among them
    // Per partition of kTopic: the highest offset passed to delete_records, and the mutating
    // operations done when it was called.
    std::map<std::int32_t, std::int64_t> delete_below;
    std::uint64_t delete_ops = 0;
    // The retention cutoff (now - retention.ms) of the maintenance pass, and the mutating
    // operations done when it started.
    std::int64_t expired_before_ms = 0;
    std::uint64_t maintenance_ops = 0;
    // Commits of kGroup that returned ok: partition, offset, and the mutating operations
    // done when the commit returned.
    struct Commit {
        std::int32_t partition;
        std::int64_t offset;
        std::uint64_t ops;
    };
    std::vector<Commit> commits;
};

// Builds a unique, self-describing value: a torn or mixed-up record cannot pass for it.
std::string value_of(int seq) {
    return fmt::format("value-{:04}-{}", seq, std::string(seq % 23, 'x'));
}

int seq_of(const std::string& value) {
    return std::stoi(value.substr(6, 4));
}

// The key of record `seq`: unique on kTopic, one of kStateKeys on the compacted topic.
std::string key_of(const std::string& topic, int seq) {
    return topic == kCompacted ? fmt::format("s{}", seq % kStateKeys) : fmt::format("k{}", seq);
}

// The store-level reference workload. Steps run in a fixed order on one thread, except for
// the several producers of produce_concurrently, so a run with the same faults makes nearly
// the same operations.
class StoreWorkload {
  public:
    StoreWorkload(FaultFileSystem& files, std::shared_ptr<meta::MetaStore> meta,
                  std::shared_ptr<MetaJournal> journal)
        : files_(files), meta_(std::move(meta)), journal_(std::move(journal)) {}

    Outcome run() {
        auto store = open();
        if (!store) return std::move(outcome_);
        const Config topic = {{"segment.bytes", "400"},
                              {"segment.index.bytes", "4096"},
                              {"index.interval.bytes", "100"},
                              {"retention.ms", std::to_string(kHourMs)}};
        if (!note(store->create_topic(kTopic, kPartitions, topic))) return std::move(outcome_);
        const Config compacted = {{"cleanup.policy", "compact"},
                                  {"segment.bytes", "300"},
                                  {"segment.index.bytes", "4096"},
                                  {"min.cleanable.dirty.ratio", "0.01"}};
        if (!note(store->create_topic(kCompacted, 1, compacted))) return std::move(outcome_);
        produce_one_by_one(*store, "all", 6);
        produce_group_commit(*store, 8);
        produce_one_by_one(*store, "all", 8, kCompacted);
        // A clean close and a reopen in the middle: the clean-shutdown path, then recovery.
        note(store->close());
        store.reset();  // a closed store keeps its index mappings until destroyed
        // Two hours later: everything produced so far is past retention.ms.
        clock_->advance_ms(2 * kHourMs);
        store = open();
        if (!store) return std::move(outcome_);
        produce_one_by_one(*store, "1", 4);
        consume_and_commit(*store);
        produce_concurrently(*store, 3, 2);
        produce_one_by_one(*store, "all", 4, kCompacted);
        produce_one_by_one(*store, "all", 2);
        consume_and_commit(*store);
        delete_consumed(*store, PartitionId(0));
        maintain(*store);
        note(store->close());
        return std::move(outcome_);
    }

  private:
    std::unique_ptr<Store> open() {
        Options options;
        options.clock = clock_;
        options.background_maintenance = false;
        auto core = detail::StoreCore::open_on(
            std::shared_ptr<fs::FileSystem>(&files_, [](fs::FileSystem*) {}), kRoot,
            std::make_unique<SharedMetaStore>(meta_, journal_, &files_), options);
        if (!note(core.status())) return nullptr;
        return detail::StoreCore::make_store(*core);
    }

    bool note(const Status& status) {
        std::lock_guard lock(mu_);
        if (!status.is_ok()) outcome_.errors.push_back(status);
        return status.is_ok();
    }

    ProducerRecord record_for(int seq, const std::string& topic) {
        {
            std::lock_guard lock(mu_);
            outcome_.produced.insert(value_of(seq));
        }
        return {.topic = topic,
                .key = key_of(topic, seq),
                .value = value_of(seq),
                .partition = PartitionId(topic == kCompacted ? 0 : seq % kPartitions)};
    }

    void acknowledge(const DeliveryReport& report, std::string value, bool durable) {
        if (!note(report.error)) return;
        const auto ops = files_.operations(op::mutating);
        std::lock_guard lock(mu_);
        outcome_.acks.push_back({report.topic, report.partition.value(), report.offset.value(),
                                 std::move(value), durable, ops, report.timestamp});
    }

    void produce_one_by_one(Store& store, const std::string& acks, int count,
                            const std::string& topic = kTopic) {
        auto producer = Producer::create(store, {{"acks", acks}});
        if (!note(producer.status())) return;
        for (int i = 0; i < count; ++i) {
            ProducerRecord record = record_for(next_seq_++, topic);
            const std::string value = *record.value;
            auto report = (*producer)->produce_sync(std::move(record));
            if (!note(report.status())) continue;
            acknowledge(*report, value, acks == "all");
        }
    }

    // Records queued together and sent as batches on flush: each batch shares one fsync.
    void produce_group_commit(Store& store, int count) {
        auto producer = Producer::create(
            store, {{"acks", "all"}, {"linger.ms", "600000"}, {"delivery.timeout.ms", "600000"}});
        if (!note(producer.status())) return;
        for (int i = 0; i < count; ++i) {
            ProducerRecord record = record_for(next_seq_++, kTopic);
            const std::string value = *record.value;
            note((*producer)->produce(std::move(record), [this, value](const DeliveryReport& r) {
                acknowledge(r, value, true);
            }));
        }
        note((*producer)->flush());
    }

    // `producers` producers on their own threads, each sending `each` records with acks=all
    // to both partitions at once: their appends to a partition share fsyncs (group commit).
    void produce_concurrently(Store& store, int producers, int each) {
        const int base = next_seq_;
        next_seq_ += producers * each;
        std::vector<std::thread> threads;
        for (int t = 0; t < producers; ++t) {
            threads.emplace_back([&, t] {
                auto producer = Producer::create(store, {{"acks", "all"}});
                if (!note(producer.status())) return;
                for (int i = 0; i < each; ++i) {
                    const int seq = base + t * each + i;
                    {
                        std::lock_guard lock(mu_);
                        outcome_.unordered.insert(seq);
                    }
                    ProducerRecord record = record_for(seq, kTopic);
                    const std::string value = *record.value;
                    auto report = (*producer)->produce_sync(std::move(record));
                    if (!note(report.status())) continue;
                    acknowledge(*report, value, true);
                }
            });
        }
        for (auto& thread : threads) thread.join();
    }

    // A consumer of kGroup reads every partition of kTopic from its committed offset and
    // commits what it read.
    void consume_and_commit(Store& store) {
        auto consumer = Consumer::create(store, {{"group.id", kGroup},
                                                 {"enable.auto.commit", "false"},
                                                 {"auto.offset.reset", "earliest"}});
        if (!note(consumer.status())) return;
        std::vector<TopicPartitionOffset> assignment;
        for (int p = 0; p < kPartitions; ++p) {
            assignment.push_back({kTopic, PartitionId(p), kOffsetInvalid});
        }
        if (!note((*consumer)->assign(assignment))) return;
        while (auto message = (*consumer)->poll(std::chrono::milliseconds(0))) {
            if (!note(message->error())) return;
        }
        auto positions = (*consumer)->position((*consumer)->assignment());
        if (!note(positions.status())) return;
        if (!note((*consumer)->commit())) return;
        const auto ops = files_.operations(op::mutating);
        for (const auto& p : *positions) {
            if (p.offset >= Offset(0)) {
                outcome_.commits.push_back({p.partition.value(), p.offset.value(), ops});
            }
        }
        note((*consumer)->close());
    }

    // Deletes the records of `partition` the group has committed.
    void delete_consumed(Store& store, PartitionId partition) {
        std::optional<std::int64_t> committed;
        for (const auto& c : outcome_.commits) {
            if (c.partition == partition.value()) committed = c.offset;
        }
        if (!committed) return;
        auto& bound = outcome_.delete_below[partition.value()];
        bound = std::max(bound, *committed);
        outcome_.delete_ops = files_.operations(op::mutating);
        note(store.delete_records(kTopic, partition, Offset(*committed)).status());
    }

    // One maintenance pass: time retention on kTopic, compaction of kCompacted.
    void maintain(Store& store) {
        outcome_.expired_before_ms = clock_->now_ms() - kHourMs;
        outcome_.maintenance_ops = files_.operations(op::mutating);
        note(store.run_maintenance());
    }

    FaultFileSystem& files_;
    std::shared_ptr<meta::MetaStore> meta_;
    std::shared_ptr<MetaJournal> journal_;
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kStartMs);
    std::mutex mu_;  // outcome_, for produce_concurrently's threads
    Outcome outcome_;
    int next_seq_ = 0;
};

}  // namespace brook::testing::sweep

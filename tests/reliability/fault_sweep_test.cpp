// Fault and power-loss sweeps, as SQLite's and LevelDB's fault-injection tests do them.
//
// A reference workload runs against a store on the fault-injecting file system. A clean run
// counts its file system operations; then, for every k from 1 to that count, the workload runs
// again with the k-th operation failed (once, then persistently from k on; with EIO and with
// ENOSPC), and again with a simulated power cut right after the k-th mutating operation (the
// unsynced tails dropped or torn). After each run the store is reopened without faults and
// checked against what the workload was told:
//   - every acknowledged record is present at its offset and intact, in order: all of them
//     after an injected error, the durable (acks=all or synced) ones after a power cut; except
//     where the workload asked for them to go: below a delete_records offset, older than the
//     retention cutoff of a maintenance pass, or (compacted topic) superseded by a later
//     acknowledged record with the same key;
//   - nothing unacknowledged appears torn: every record read is one the workload produced,
//     whole, in production order, at gap-free offsets from the log start (increasing offsets
//     on the compacted topic);
//   - committed offsets of the consumer group are never ahead of the log end and never behind
//     the last commit the API acknowledged;
//   - each error the API returned has the code of the injected fault (no_space for ENOSPC,
//     io_error for EIO), or is the io_error / fail_stopped of a log stopped by it, and the
//     first one names the injected fault.
//
// The store workload (store_workload.hpp, public API) produces with acks=all alone, in batches
// sharing an fsync and from several producer threads at once (group commit), and with acks=1;
// consumes and commits offsets in a consumer group; deletes consumed records (delete_records);
// and runs a maintenance pass that applies time retention (the store clock is a ManualClock
// moved past retention.ms) and compacts a compacted topic with small segments.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <brook/consumer.hpp>
#include <brook/group_admin.hpp>
#include <brook/producer.hpp>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "log/partition_log.hpp"
#include "meta/meta_store.hpp"
#include "reliability/store_workload.hpp"
#include "store/store_core.hpp"
#include "support/fault_fs.hpp"
#include "support/journaled_meta_store.hpp"
#include "support/log_util.hpp"

using namespace brook;
using namespace brook::testing;
using namespace brook::testing::sweep;

namespace {

// Whether the workload asked for `ack` to be removed before a power cut after `cut` mutating
// operations: below a delete_records offset, or older than the maintenance pass's retention
// cutoff. (On the compacted topic, check_store keeps only each key's latest record.)
bool removable(const Outcome& outcome, const Ack& ack, std::uint64_t cut) {
    if (ack.topic != kTopic) return false;
    const auto bound = outcome.delete_below.find(ack.partition);
    if (bound != outcome.delete_below.end() && outcome.delete_ops <= cut &&
        ack.offset < bound->second) {
        return true;
    }
    return outcome.maintenance_ops != 0 && outcome.maintenance_ops <= cut &&
           ack.timestamp < outcome.expired_before_ms;
}

// What check_store read: per topic and partition, the log start and the records.
struct Seen {
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> log_start;
    std::map<std::pair<std::string, std::int32_t>, std::size_t> records;
};

// Reads every partition of the reopened store and checks it against the outcome. `required`
// picks the acknowledgements that must have survived a power cut after `cut` mutating
// operations (no cut: every operation counts).
template <typename Required>
Seen check_store(std::shared_ptr<fs::FileSystem> files, std::shared_ptr<meta::MetaStore> meta,
                 const Outcome& outcome, Required required, int partitions = kPartitions,
                 std::uint64_t cut = std::numeric_limits<std::uint64_t>::max()) {
    Options options;
    options.background_maintenance = false;
    auto core = detail::StoreCore::open_on(std::move(files), kRoot,
                                           std::make_unique<SharedMetaStore>(meta), options);
    REQUIRE_MESSAGE(core.is_ok(), "reopening without faults failed: ", core.status().to_string());
    std::map<std::tuple<std::string, std::int32_t, std::int64_t>, std::string> found;
    Seen seen;
    for (const std::string name : {kTopic, kCompacted}) {
        auto topic = (*core)->topic(name);
        if (!topic.is_ok()) continue;
        for (const auto& partition : (*topic)->partitions) {
            const auto& log = *partition->log;
            const auto records = read_all(log);
            seen.log_start[{name, partition->id.value()}] = log.log_start_offset().value();
            seen.records[{name, partition->id.value()}] = records.size();
            int last_seq = -1;
            std::int64_t last_offset = -1;
            for (std::size_t i = 0; i < records.size(); ++i) {
                const auto& r = records[i];
                CAPTURE(name);
                CAPTURE(r.value.value_or("<null>"));
                REQUIRE(r.value.has_value());
                REQUIRE(outcome.produced.contains(*r.value));
                const int seq = seq_of(*r.value);
                CHECK(r.key == key_of(name, seq));
                if (name == kTopic) {
                    // Gap-free offsets from the log start; only deletion moves the start.
                    CHECK(r.offset == log.log_start_offset() + static_cast<std::int64_t>(i));
                    CHECK(seq % partitions == partition->id.value());
                } else {
                    CHECK(r.offset.value() > last_offset);  // compaction leaves gaps
                }
                last_offset = r.offset.value();
                // Each record one the workload produced, whole, in production order.
                if (!outcome.unordered.contains(seq)) {
                    CHECK(seq > last_seq);
                    last_seq = seq;
                }
                found[{name, partition->id.value(), r.offset.value()}] = *r.value;
            }
        }
    }
    // The required acknowledgements; on the compacted topic only each key's latest one.
    std::vector<const Ack*> must;
    std::map<std::string, const Ack*> latest_of_key;
    for (const auto& ack : outcome.acks) {
        if (!required(ack) || removable(outcome, ack, cut)) continue;
        if (ack.topic != kCompacted) {
            must.push_back(&ack);
            continue;
        }
        const Ack*& latest = latest_of_key[key_of(kCompacted, seq_of(ack.value))];
        if (!latest || latest->offset < ack.offset) latest = &ack;
    }
    for (const auto& [key, ack] : latest_of_key) must.push_back(ack);
    for (const Ack* ack : must) {
        CAPTURE(ack->topic);
        CAPTURE(ack->partition);
        CAPTURE(ack->offset);
        CAPTURE(ack->value);
        const auto it = found.find({ack->topic, ack->partition, ack->offset});
        REQUIRE_MESSAGE(it != found.end(), "an acknowledged record is missing");
        CHECK(it->second == ack->value);
    }
    // Committed offsets: at or below the log end, never behind an acknowledged commit made
    // before the cut.
    std::map<std::int32_t, std::int64_t> acked_commit;
    for (const auto& c : outcome.commits) {
        if (c.ops < cut) acked_commit[c.partition] = std::max(acked_commit[c.partition], c.offset);
    }
    auto store = detail::StoreCore::make_store(*core);
    auto group = GroupAdmin(*store).describe_group(kGroup);
    if (!acked_commit.empty()) REQUIRE_MESSAGE(group.is_ok(), group.status().to_string());
    if (group.is_ok()) {
        for (const auto& p : group->partitions) {
            if (!p.committed) continue;
            CAPTURE(p.partition.value());
            CAPTURE(p.committed->value());
            CHECK_MESSAGE(*p.committed <= p.log_end_offset,
                          "a committed offset is ahead of the log end ", p.log_end_offset.value());
            const auto acked = acked_commit.find(p.partition.value());
            if (acked != acked_commit.end()) CHECK(p.committed->value() >= acked->second);
        }
    }
    REQUIRE(store->close().is_ok());
    return seen;
}

// Each error is the injected one, or the fail-stop it caused in a log (io_error with
// SubCode::fail_stopped, as docs/durability.md section 4 specifies for a failed fsync or seal).
// The first error names the injected fault: by its code, or as the cause of the fail-stop.
void check_errors(const Outcome& outcome, Code injected) {
    const auto stopped = [](const Status& error) {
        return error.code() == Code::io_error && error.sub_code() == SubCode::fail_stopped;
    };
    for (const auto& error : outcome.errors) {
        CAPTURE(error.to_string());
        CHECK((error.code() == injected || stopped(error)));
    }
    if (outcome.errors.empty()) return;
    const Status& first = outcome.errors.front();
    CAPTURE(first.to_string());
    const std::string cause = std::string(code_name(injected)) + ": injected";
    CHECK((first.code() == injected ||
           (stopped(first) && first.message().find(cause) != std::string::npos)));
}

struct Fresh {
    std::shared_ptr<fs::FileSystem> memory = fs::new_memory_file_system();
    std::shared_ptr<meta::MetaStore> meta = meta::new_memory_meta_store();
    std::shared_ptr<MetaJournal> journal = std::make_shared<MetaJournal>();
    FaultFileSystem faulty{*memory};
    Fresh() {
        REQUIRE(memory->create_dirs(kRoot).is_ok());
        faulty.mark_durable(kRoot);
    }
};

// Sweeps try every k (every `stride`-th under sanitizers, where runs are slower; the
// environment variable BROOK_SWEEP_STRIDE sets it).
std::uint64_t sweep_stride() {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    constexpr std::uint64_t kDefault = 4;
#else
    constexpr std::uint64_t kDefault = 1;
#endif
    const char* text = std::getenv("BROOK_SWEEP_STRIDE");
    return text && *text ? std::max<std::uint64_t>(1, std::strtoull(text, nullptr, 10)) : kDefault;
}

// Operation counts of a clean run of the store workload: all kinds, then mutating ones.
std::pair<std::uint64_t, std::uint64_t> clean_store_run() {
    Fresh fresh;
    StoreWorkload workload(fresh.faulty, fresh.meta, fresh.journal);
    const Outcome outcome = workload.run();
    for (const auto& error : outcome.errors) FAIL_CHECK(error.to_string());
    REQUIRE(outcome.acks.size() == 38);
    REQUIRE(outcome.commits.size() == 2 * kPartitions);
    const Seen seen =
        check_store(fresh.memory, fresh.meta, outcome, [](const Ack&) { return true; });
    // The workload's deletion, retention and compaction really removed records.
    CHECK(seen.log_start.at({kTopic, 0}) >= outcome.delete_below.at(0));
    CHECK(seen.log_start.at({kTopic, 1}) > 0);
    CHECK(seen.records.at({kCompacted, 0}) < 12);
    return {fresh.faulty.operations(op::all), fresh.faulty.operations(op::mutating)};
}

}  // namespace

TEST_CASE("store sweep: every operation failed once and persistently, with EIO and ENOSPC") {
    const auto [total, mutating] = clean_store_run();
    MESSAGE("store workload: ", total, " operations, ", mutating, " mutating");
    std::uint64_t runs = 0;
    for (const Code code : {Code::io_error, Code::no_space}) {
        for (const bool persistent : {false, true}) {
            for (std::uint64_t k = 1; k <= total; k += sweep_stride()) {
                CAPTURE(k);
                CAPTURE(persistent);
                CAPTURE(code_name(code));
                Fresh fresh;
                fresh.faulty.inject(
                    {.kinds = op::all, .nth = k, .persistent = persistent, .code = code});
                StoreWorkload workload(fresh.faulty, fresh.meta, fresh.journal);
                const Outcome outcome = workload.run();
                fresh.faulty.clear_faults();
                // Threads sharing fsyncs make the operation count vary a little between runs.
                if (fresh.faulty.failures_injected() == 0) CHECK(outcome.errors.empty());
                check_errors(outcome, code);
                check_store(fresh.memory, fresh.meta, outcome, [](const Ack&) { return true; });
                ++runs;
            }
        }
    }
    MESSAGE("store fault sweep: ", runs, " runs");
}

TEST_CASE("store sweep: a power cut after every mutating operation, with every kind of tear") {
    const auto [total, mutating] = clean_store_run();
    std::uint64_t runs = 0;
    for (const Tear tear : {Tear::drop, Tear::prefix, Tear::garbage, Tear::zeros}) {
        for (std::uint64_t k = 1; k <= mutating; k += sweep_stride()) {
            CAPTURE(k);
            CAPTURE(tear_name(tear));
            Fresh fresh;
            fresh.faulty.crash_after(k, tear, k);
            StoreWorkload workload(fresh.faulty, fresh.meta, fresh.journal);
            const Outcome outcome = workload.run();
            REQUIRE(outcome.errors.empty());
            auto image = fresh.faulty.captured_image();
            if (image == nullptr) continue;  // fewer operations this time (shared fsyncs)
            check_store(
                image, fresh.journal->image(k), outcome,
                [k](const Ack& ack) { return ack.durable && ack.ops_before <= k; }, kPartitions, k);
            ++runs;
        }
    }
    MESSAGE("store power-cut sweep: ", runs, " runs");
}

// Group commit under concurrency: 4 threads produce with acks=all at once, so their appends
// share fsyncs in an order no sweep can fix in advance. A power cut lands after a random
// mutating operation; every record acknowledged before it must be in the image.
TEST_CASE("concurrent durable producers survive a power cut at a random point") {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 15;
    std::mt19937_64 random(7);
    for (std::uint64_t round = 0; round < 12; ++round) {
        CAPTURE(round);
        Fresh fresh;
        Outcome outcome;
        std::mutex outcome_mu;
        const std::uint64_t crash_point = 1 + random() % 150;
        CAPTURE(crash_point);
        {
            auto core = detail::StoreCore::open_on(
                std::shared_ptr<fs::FileSystem>(&fresh.faulty, [](fs::FileSystem*) {}), kRoot,
                std::make_unique<SharedMetaStore>(fresh.meta), {});
            REQUIRE(core.is_ok());
            auto store = detail::StoreCore::make_store(*core);
            // One partition per thread, so each partition's records are in production order.
            REQUIRE(store
                        ->create_topic(kTopic, kThreads,
                                       {{"segment.bytes", "600"}, {"segment.index.bytes", "4096"}})
                        .is_ok());
            fresh.faulty.crash_after(crash_point, Tear::prefix, round);
            auto producer = Producer::create(*store, {{"acks", "all"}});
            REQUIRE(producer.is_ok());
            std::vector<std::thread> threads;
            for (int t = 0; t < kThreads; ++t) {
                threads.emplace_back([&, t] {
                    for (int i = 0; i < kPerThread; ++i) {
                        const int seq = t + kThreads * i;  // seq % kThreads == t
                        const std::string value = value_of(seq);
                        {
                            std::lock_guard lock(outcome_mu);
                            outcome.produced.insert(value);
                        }
                        auto report = (*producer)->produce_sync({.topic = kTopic,
                                                                 .key = fmt::format("k{}", seq),
                                                                 .value = value,
                                                                 .partition = PartitionId(t)});
                        const auto ops = fresh.faulty.operations(op::mutating);
                        std::lock_guard lock(outcome_mu);
                        if (!report.is_ok()) {
                            outcome.errors.push_back(report.status());
                            continue;
                        }
                        outcome.acks.push_back({.partition = report->partition.value(),
                                                .offset = report->offset.value(),
                                                .value = value,
                                                .durable = true,
                                                .ops_before = ops});
                    }
                });
            }
            for (auto& thread : threads) thread.join();
            REQUIRE(store->close().is_ok());
        }
        for (const auto& error : outcome.errors) FAIL_CHECK(error.to_string());
        CHECK(outcome.acks.size() == kThreads * kPerThread);
        auto image = fresh.faulty.captured_image();
        REQUIRE(image != nullptr);
        check_store(
            image, fresh.meta, outcome,
            [crash_point](const Ack& ack) { return ack.ops_before <= crash_point; }, kThreads);
    }
}

// Regression (found by the power-cut sweep): a consumer group committed the offset after
// acks=1 records that were not yet on disk; a power cut then left the committed offset ahead
// of the log end, so the group would skip the next records written at those offsets. A commit
// now makes the records below it durable first.
TEST_CASE("a committed offset survives a power cut together with the records below it") {
    Fresh fresh;
    Options options;
    options.background_maintenance = false;
    auto core = detail::StoreCore::open_on(
        std::shared_ptr<fs::FileSystem>(&fresh.faulty, [](fs::FileSystem*) {}), kRoot,
        std::make_unique<SharedMetaStore>(fresh.meta), options);
    REQUIRE(core.is_ok());
    auto store = detail::StoreCore::make_store(*core);
    REQUIRE(store->create_topic(kTopic, 1).is_ok());
    auto producer = Producer::create(*store, {{"acks", "1"}});
    REQUIRE(producer.is_ok());
    for (int i = 0; i < 3; ++i) {
        REQUIRE((*producer)->produce_sync({.topic = kTopic, .value = value_of(i)}).is_ok());
    }
    auto consumer = Consumer::create(*store, {{"group.id", kGroup}});
    REQUIRE(consumer.is_ok());
    REQUIRE((*consumer)->commit({{kTopic, PartitionId(0), Offset(3)}}).is_ok());
    auto image = fresh.faulty.crash_image(Tear::drop);
    auto reopened = detail::StoreCore::open_on(
        image, kRoot, std::make_unique<SharedMetaStore>(fresh.meta), options);
    REQUIRE(reopened.is_ok());
    auto after = detail::StoreCore::make_store(*reopened);
    auto group = GroupAdmin(*after).describe_group(kGroup);
    REQUIRE(group.is_ok());
    REQUIRE(group->partitions.size() == 1);
    CHECK(group->partitions[0].committed == Offset(3));
    CHECK(group->partitions[0].log_end_offset == Offset(3));
    REQUIRE(after->close().is_ok());
}

// Transactions in the partition log: the last stable offset, the read_committed and
// read_uncommitted views, open transactions and the aborted index, checked against a
// brute-force model over random interleavings of several transactional producers, an
// idempotent one and a plain one; and the same after a clean reopen and after power cuts.
#include <algorithm>
#include <brook/clock.hpp>
#include <map>
#include <random>
#include <set>

#include "log/control_batch.hpp"
#include "log/format.hpp"
#include "log/segment.hpp"
#include "support/fault_fs.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"
#include "support/txn_util.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

enum class TxnOutcome { open, committed, aborted };

struct ModelBatch {
    Offset base;
    Offset last;
    std::int64_t producer_id = -1;
    std::int16_t epoch = 0;
    bool transactional = false;
    bool control = false;
    int txn = -1;  // index into Model::txn_markers
    std::vector<log::Record> records;
};

// What the log must hold: every batch appended, in offset order, and each transaction's
// marker. Views are computed for any prefix of the log ending at `end`, as a crash leaves.
struct Model {
    std::vector<ModelBatch> batches;
    std::vector<std::optional<std::pair<Offset, log::ControlType>>> txn_markers;

    std::vector<const ModelBatch*> prefix(Offset end) const {
        std::vector<const ModelBatch*> out;
        for (const auto& b : batches) {
            if (b.last < end) out.push_back(&b);
        }
        return out;
    }

    TxnOutcome outcome(int txn, Offset end) const {
        const auto& marker = txn_markers[static_cast<std::size_t>(txn)];
        if (!marker || marker->first >= end) return TxnOutcome::open;
        return marker->second == log::ControlType::commit ? TxnOutcome::committed
                                                          : TxnOutcome::aborted;
    }

    std::vector<log::OpenTransaction> open_transactions(Offset end) const {
        std::map<int, log::OpenTransaction> open;
        for (const ModelBatch* b : prefix(end)) {
            if (b->transactional && !b->control && outcome(b->txn, end) == TxnOutcome::open &&
                !open.contains(b->txn)) {
                open[b->txn] = {b->producer_id, b->epoch, b->base};
            }
        }
        std::vector<log::OpenTransaction> out;
        for (const auto& [txn, t] : open) out.push_back(t);
        std::sort(out.begin(), out.end(),
                  [](const auto& a, const auto& b) { return a.first_offset < b.first_offset; });
        return out;
    }

    Offset lso(Offset end) const {
        const auto open = open_transactions(end);
        return open.empty() ? end : open.front().first_offset;
    }

    std::vector<log::Record> view(Offset end, log::Isolation isolation) const {
        const Offset limit = isolation == log::Isolation::read_committed ? lso(end) : end;
        std::vector<log::Record> out;
        for (const ModelBatch* b : prefix(limit)) {
            if (b->control) continue;
            if (isolation == log::Isolation::read_committed && b->transactional &&
                outcome(b->txn, end) == TxnOutcome::aborted) {
                continue;
            }
            out.insert(out.end(), b->records.begin(), b->records.end());
        }
        return out;
    }
};

// Reads as the Consumer does: batch after batch, moving past batches with no records.
std::vector<log::Record> read_view(const log::PartitionLog& log, Offset from,
                                   log::Isolation isolation, std::size_t max_bytes) {
    std::vector<log::Record> out;
    const Offset limit = isolation == log::Isolation::read_committed ? log.last_stable_offset()
                                                                     : log.log_end_offset();
    while (from < limit) {
        auto batches = log.read(from, max_bytes, isolation);
        REQUIRE_MESSAGE(batches.is_ok(), batches.status().to_string());
        REQUIRE(!batches->empty());
        for (auto& batch : *batches) {
            CHECK(batch.header.last_offset() < limit);
            if (batch.header.is_control()) CHECK(batch.records.empty());
            for (auto& r : batch.records) out.push_back(std::move(r));
            from = batch.header.last_offset() + 1;
        }
    }
    auto beyond = log.read(from, max_bytes, isolation);
    REQUIRE(beyond.is_ok());
    CHECK(beyond->empty());
    return out;
}

std::vector<log::Record> from_offset(std::vector<log::Record> records, Offset from) {
    std::erase_if(records, [&](const log::Record& r) { return r.offset < from; });
    return records;
}

// Compares the log with the model's prefix ending at the log end, from random offsets.
void check_against_model(const log::PartitionLog& log, const Model& model, std::mt19937_64& rng) {
    const Offset end = log.log_end_offset();
    CHECK(log.last_stable_offset() == model.lso(end));
    CHECK(log.open_transactions() == model.open_transactions(end));
    for (const auto isolation :
         {log::Isolation::read_uncommitted, log::Isolation::read_committed}) {
        const auto expected = model.view(end, isolation);
        for (int i = 0; i < 4; ++i) {
            const Offset from =
                log.log_start_offset() +
                static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(end.value() + 1));
            const std::size_t max_bytes = i == 0 ? 1 : 200 + rng() % 3000;
            CAPTURE(from.value());
            CAPTURE(static_cast<int>(isolation));
            CHECK(read_view(log, from, isolation, max_bytes) == from_offset(expected, from));
        }
    }
}

// Appends random operations: transactional producers begin, write, commit and abort; an
// idempotent producer and a plain one write outside transactions.
struct Workload {
    struct Producer {
        std::int64_t id;
        bool transactional;
        std::int32_t next_sequence = 0;
        int open_txn = -1;
        std::optional<ProducerBatch> last_sent;
        log::AppendResult last_result;
    };
    Model model;
    std::vector<Producer> producers{{10, true}, {11, true}, {12, true}, {20, false}, {-1, false}};
    int step = 0;

    void record(const log::AppendResult& result, ModelBatch batch) {
        batch.base = result.base_offset;
        batch.last = result.last_offset;
        batch.records = with_offsets(std::move(batch.records), result.base_offset);
        model.batches.push_back(std::move(batch));
    }

    void run(log::PartitionLog& log, std::mt19937_64& rng, int steps) {
        for (int i = 0; i < steps; ++i, ++step) {
            Producer& p = producers[rng() % producers.size()];
            const int roll = static_cast<int>(rng() % 8);
            if (p.transactional && p.open_txn >= 0 && roll < 3) {
                const auto type = roll == 0 ? log::ControlType::abort : log::ControlType::commit;
                auto result = append_marker(log, p.id, 0, type);
                REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
                model.txn_markers[static_cast<std::size_t>(p.open_txn)] =
                    std::pair(result->base_offset, type);
                record(*result, {Offset(), Offset(), p.id, 0, true, true, p.open_txn, {}});
                p.open_txn = -1;
                continue;
            }
            const int count = 1 + static_cast<int>(rng() % 3);
            const std::string tag = "s" + std::to_string(step) + "-";
            if (p.id < 0) {
                std::vector<log::Record> records = producer_records({-1, 0, 0, count, false, tag});
                const auto result = append(log, records);
                record(result, {Offset(), Offset(), -1, 0, false, false, -1, records});
                continue;
            }
            if (p.transactional && p.open_txn < 0) {
                p.open_txn = static_cast<int>(model.txn_markers.size());
                model.txn_markers.emplace_back();
            }
            const ProducerBatch b{p.id, 0, p.next_sequence, count, p.transactional, tag};
            auto result = try_append(log, b);
            REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
            REQUIRE_FALSE(result->duplicate);
            p.next_sequence += count;
            p.last_sent = b;
            p.last_result = *result;
            record(*result, {Offset(), Offset(), p.id, 0, p.transactional, false, p.open_txn,
                             producer_records(b)});
        }
    }

    // Re-sends each idempotent producer's last batch: it must be found as a duplicate.
    void check_dedupe(log::PartitionLog& log) {
        for (const Producer& p : producers) {
            if (!p.last_sent || p.last_result.last_offset >= log.log_end_offset()) continue;
            auto again = try_append(log, *p.last_sent);
            REQUIRE_MESSAGE(again.is_ok(), again.status().to_string());
            CHECK(again->duplicate);
            CHECK(again->base_offset == p.last_result.base_offset);
        }
    }
};

log::LogConfig small_segments() {
    log::LogConfig config;
    config.segment_bytes = 1500;
    config.index_interval_bytes = 200;
    return config;
}

std::set<std::string> files_with(fs::FileSystem& fs, const std::string& dir,
                                 std::string_view suffix) {
    std::set<std::string> out;
    const auto names = fs.list_dir(dir);
    REQUIRE(names.is_ok());
    for (const auto& name : *names) {
        if (name.ends_with(suffix)) out.insert(name);
    }
    return out;
}

}  // namespace

TEST_CASE("control batches encode Kafka's end-transaction marker and come back without records") {
    MemoryEnv env;
    ManualClock clock(1000);
    auto log = open_log(env.fs(), env.root() + "/p", log::LogConfig{}, clock);
    for (const auto type : {log::ControlType::abort, log::ControlType::commit}) {
        auto bytes = log::encode_control_batch(77, 4, type, 1234, 9);
        REQUIRE(bytes.is_ok());
        auto decoded = log::decode_batch(*bytes);
        REQUIRE(decoded.is_ok());
        CHECK(decoded->header.is_control());
        CHECK(decoded->header.is_transactional());
        CHECK(decoded->header.producer_id == 77);
        CHECK(decoded->header.producer_epoch == 4);
        CHECK(decoded->header.base_sequence == -1);
        REQUIRE(decoded->records.size() == 1);
        CHECK(*decoded->records[0].key ==
              std::string("\0\0\0", 3) + (type == log::ControlType::commit ? '\1' : '\0'));
        const auto marker = log::parse_control_batch(*decoded);
        REQUIRE(marker.is_ok());
        CHECK(marker->type == type);
        CHECK(marker->coordinator_epoch == 9);
    }
    CHECK(log::encode_control_batch(-1, 0, log::ControlType::commit, 0).code() ==
          Code::invalid_argument);
    // A control bit on an ordinary batch is not a marker.
    log::BatchOptions options;
    options.producer_id = 3;
    options.producer_epoch = 0;
    options.transactional = true;
    options.control = true;
    auto fake = log::encode_batch(std::vector{make_record(1, 5)}, options);
    REQUIRE(fake.is_ok());
    CHECK(log->append(*fake).code() == Code::invalid_argument);
    CHECK(log->log_end_offset() == Offset(0));
}

TEST_CASE("read_committed stops at the LSO and returns aborted and control batches empty") {
    MemoryEnv env;
    ManualClock clock(1000);
    auto log = open_log(env.fs(), env.root() + "/p", log::LogConfig{}, clock);
    REQUIRE(try_append(*log, {1, 0, 0, 2, true, "a"}).is_ok());  // 0-1, aborted below
    REQUIRE(try_append(*log, {2, 0, 0, 1, true, "c"}).is_ok());  // 2, committed below
    append(*log, {make_record(1, 10)});                          // 3, plain
    CHECK(log->last_stable_offset() == Offset(0));
    CHECK(log->read(Offset(0), 1 << 20, log::Isolation::read_committed)->empty());
    CHECK(log->read(Offset(0), 1 << 20)->size() == 3);
    REQUIRE(append_marker(*log, 1, 0, log::ControlType::abort).is_ok());  // 4
    CHECK(log->last_stable_offset() == Offset(2));
    REQUIRE(append_marker(*log, 2, 0, log::ControlType::commit).is_ok());  // 5
    CHECK(log->last_stable_offset() == Offset(6));
    CHECK(log->open_transactions().empty());

    auto committed = log->read(Offset(0), 1 << 20, log::Isolation::read_committed);
    REQUIRE(committed.is_ok());
    REQUIRE(committed->size() == 5);
    const std::vector<std::pair<std::int64_t, std::size_t>> expected = {
        {0, 0}, {2, 1}, {3, 1}, {4, 0}, {5, 0}};  // base offset, records
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK((*committed)[i].header.base_offset == Offset(expected[i].first));
        CHECK((*committed)[i].records.size() == expected[i].second);
    }
    CHECK((*committed)[0].header.last_offset() == Offset(1));
    auto uncommitted = log->read(Offset(0), 1 << 20);
    REQUIRE(uncommitted.is_ok());
    CHECK((*uncommitted)[0].records.size() == 2);
    CHECK((*uncommitted)[3].records.empty());
    const auto aborted = log->aborted_transactions(Offset(0), Offset(100));
    REQUIRE(aborted.size() == 1);
    // Producer 2's transaction from offset 2 was still open when the abort was written.
    CHECK(aborted[0] == log::AbortedTransaction{1, Offset(0), Offset(4), Offset(2)});
    // A marker for a producer with no open transaction is written and changes nothing else.
    REQUIRE(append_marker(*log, 1, 0, log::ControlType::abort).is_ok());
    CHECK(log->aborted_transactions(Offset(0), Offset(100)).size() == 1);
    CHECK(log->last_stable_offset() == log->log_end_offset());
}

TEST_CASE("random interleavings of transactions match the model, across reopen and power cuts") {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        CAPTURE(seed);
        MemoryEnv env;
        FaultFileSystem faulty(env.fs());
        faulty.mark_durable(env.root());
        ManualClock clock(1000);
        const std::string dir = env.root() + "/p";
        std::mt19937_64 rng(seed);
        Workload work;
        auto log = open_log(faulty, dir, small_segments(), clock);
        for (int round = 0; round < 4; ++round) {
            work.run(*log, rng, 60);
            check_against_model(*log, work.model, rng);
        }
        REQUIRE(log->segments().size() > 3);
        CHECK(!files_with(faulty, dir, log::format::kTxnIndexSuffix).empty());

        // A power cut after a flush: everything survives, rebuilt from the last roll snapshot.
        REQUIRE(log->flush().is_ok());
        std::map<std::int64_t, std::optional<log::ProducerEntry>> states;
        for (const auto& p : work.producers) states[p.id] = log->producer_state(p.id);
        auto image = faulty.crash_image();
        {
            auto crashed = open_log(*image, dir, small_segments(), clock);
            CHECK_FALSE(crashed->recovery_report().clean_shutdown);
            CHECK(crashed->log_end_offset() == log->log_end_offset());
            for (const auto& [id, state] : states) CHECK(crashed->producer_state(id) == state);
            check_against_model(*crashed, work.model, rng);
            work.check_dedupe(*crashed);
        }

        // A clean reopen replays nothing and behaves the same.
        work.run(*log, rng, 40);
        REQUIRE(log->close().is_ok());
        log.reset();
        log = open_log(faulty, dir, small_segments(), clock);
        CHECK(log->recovery_report().clean_shutdown);
        CHECK(log->recovery_report().producer_batches_replayed == 0);
        check_against_model(*log, work.model, rng);
        work.check_dedupe(*log);

        // A power cut with an unsynced, torn tail: the log and its state are the model's
        // prefix up to the recovered end.
        work.run(*log, rng, 50);
        auto torn = faulty.crash_image(Tear::prefix, seed);
        auto recovered = open_log(*torn, dir, small_segments(), clock);
        CHECK(recovered->log_end_offset() <= log->log_end_offset());
        check_against_model(*recovered, work.model, rng);
        work.check_dedupe(*recovered);
        REQUIRE(recovered->close().is_ok());
        recovered.reset();
        auto again = open_log(*torn, dir, small_segments(), clock);
        check_against_model(*again, work.model, rng);
    }
}

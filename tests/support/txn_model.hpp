// A brute-force model of a partition log with transactions, and a random workload that
// drives a log and the model together: several transactional producers that begin, write,
// commit and abort, an idempotent producer and a plain one. The model computes the
// read_committed and read_uncommitted views, the LSO and the open transactions of any prefix
// of the log (as a crash leaves it), and check_against_model() compares a log with it.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "log/control_batch.hpp"
#include "log/partition_log.hpp"
#include "support/log_util.hpp"
#include "support/txn_util.hpp"

namespace brook::testing {

// Segments of 1500 bytes with an index entry every 200: a Workload of a few hundred steps
// rolls many times.
inline log::LogConfig workload_segments() {
    log::LogConfig config;
    config.segment_bytes = 1500;
    config.index_interval_bytes = 200;
    return config;
}

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
inline std::vector<log::Record> read_view(const log::PartitionLog& log, Offset from,
                                          log::Isolation isolation, std::size_t max_bytes) {
    std::vector<log::Record> out;
    const Offset limit = isolation == log::Isolation::read_committed ? log.last_stable_offset()
                                                                     : log.log_end_offset();
    while (from < limit) {
        auto batches = log.read(from, max_bytes, isolation);
        REQUIRE_MESSAGE(batches.is_ok(), batches.status().to_string());
        REQUIRE(!batches->empty());
        for (auto& batch : *batches) {
            // Checked without an assertion per batch, which would dominate the run time.
            if (batch.header.last_offset() >= limit) {
                FAIL_CHECK(
                    "a batch at or past the read limit: " << batch.header.base_offset.value());
            }
            if (batch.header.is_control() && !batch.records.empty()) {
                FAIL_CHECK("a control batch with records at " << batch.header.base_offset.value());
            }
            for (auto& r : batch.records) out.push_back(std::move(r));
            from = batch.header.last_offset() + 1;
        }
    }
    auto beyond = log.read(from, max_bytes, isolation);
    REQUIRE(beyond.is_ok());
    CHECK(beyond->empty());
    return out;
}

inline std::vector<log::Record> from_offset(std::vector<log::Record> records, Offset from) {
    std::erase_if(records, [&](const log::Record& r) { return r.offset < from; });
    return records;
}

// Compares the log with the model's prefix ending at the log end, from random offsets.
inline void check_against_model(const log::PartitionLog& log, const Model& model,
                                std::mt19937_64& rng) {
    const Offset end = log.log_end_offset();
    // Retention may pass an open transaction's start; the LSO never goes below the log start.
    CHECK(log.last_stable_offset() == std::max(model.lso(end), log.log_start_offset()));
    CHECK(log.open_transactions() == model.open_transactions(end));
    for (const auto isolation :
         {log::Isolation::read_uncommitted, log::Isolation::read_committed}) {
        const auto expected = model.view(end, isolation);
        for (int i = 0; i < 4; ++i) {
            const Offset from =
                log.log_start_offset() +
                static_cast<std::int64_t>(
                    rng() % static_cast<std::uint64_t>(end - log.log_start_offset() + 1));
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
        Producer(std::int64_t producer_id, bool is_transactional)
            : id(producer_id), transactional(is_transactional) {}

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
    // When above 0, record keys come from this many key groups, so compaction has work.
    int key_space = 0;

    void record(const log::AppendResult& result, ModelBatch batch) {
        batch.base = result.base_offset;
        batch.last = result.last_offset;
        batch.records = with_offsets(std::move(batch.records), result.base_offset);
        model.batches.push_back(std::move(batch));
    }

    // Writes the marker that ends `p`'s open transaction.
    void end_transaction(log::PartitionLog& log, Producer& p, log::ControlType type) {
        auto result = append_marker(log, p.id, 0, type);
        REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
        model.txn_markers[static_cast<std::size_t>(p.open_txn)] =
            std::pair(result->base_offset, type);
        record(*result, {Offset(), Offset(), p.id, 0, true, true, p.open_txn, {}});
        p.open_txn = -1;
    }

    void run(log::PartitionLog& log, std::mt19937_64& rng, int steps) {
        for (int i = 0; i < steps; ++i, ++step) {
            Producer& p = producers[rng() % producers.size()];
            const int roll = static_cast<int>(rng() % 8);
            if (p.transactional && p.open_txn >= 0 && roll < 3) {
                const auto type = roll == 0 ? log::ControlType::abort : log::ControlType::commit;
                end_transaction(log, p, type);
                continue;
            }
            const int count = 1 + static_cast<int>(rng() % 3);
            const std::string tag = "s" + std::to_string(step) + "-";
            const std::string key_tag =
                key_space > 0 ? "key" + std::to_string(rng() % key_space) + "-" : "";
            if (p.id < 0) {
                std::vector<log::Record> records =
                    producer_records({-1, 0, 0, count, false, tag, key_tag});
                const auto result = append(log, records);
                record(result, {Offset(), Offset(), -1, 0, false, false, -1, records});
                continue;
            }
            if (p.transactional && p.open_txn < 0) {
                p.open_txn = static_cast<int>(model.txn_markers.size());
                model.txn_markers.emplace_back();
            }
            const ProducerBatch b{p.id, 0, p.next_sequence, count, p.transactional, tag, key_tag};
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

    // Ends every open transaction, committing or aborting at random.
    void finish_all(log::PartitionLog& log, std::mt19937_64& rng) {
        for (Producer& p : producers) {
            if (p.open_txn < 0) continue;
            const auto type = rng() % 2 == 0 ? log::ControlType::abort : log::ControlType::commit;
            end_transaction(log, p, type);
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

}  // namespace brook::testing

// Idempotent appends: duplicates of a producer's last 5 batches are acknowledged with their
// original offsets and written once; sequence gaps, stale epochs and wraparound behave as in
// Kafka. Each test checks the log's contents against the batches that should be in it.
#include "log/producer_state.hpp"

#include <brook/clock.hpp>
#include <limits>
#include <map>
#include <random>

#include "log/format.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"
#include "support/txn_util.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

struct Fixture {
    MemoryEnv env;
    ManualClock clock{10'000};
    log::LogConfig config;
    std::string dir = env.root() + "/p0";
    std::unique_ptr<log::PartitionLog> log;
    std::vector<log::Record> model;  // what the log must hold, offsets assigned

    Fixture() {
        config.segment_bytes = 600;
        log = open_log(env.fs(), dir, config, clock);
    }

    // Appends a batch that must be new; records it in the model.
    log::AppendResult write(const ProducerBatch& b) {
        auto result = try_append(*log, b);
        REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
        CHECK_FALSE(result->duplicate);
        CHECK(result->base_offset == log->log_end_offset() - b.records);
        const auto placed = with_offsets(producer_records(b), result->base_offset);
        model.insert(model.end(), placed.begin(), placed.end());
        return *result;
    }

    void check_contents() const { CHECK(read_all(*log) == model); }
};

constexpr std::int32_t kMaxSeq = std::numeric_limits<std::int32_t>::max();

}  // namespace

TEST_CASE("a re-sent batch among the producer's last 5 is acknowledged with its original offsets") {
    Fixture f;
    std::vector<std::pair<ProducerBatch, log::AppendResult>> sent;
    std::int32_t seq = 0;
    for (int i = 0; i < 8; ++i) {
        const ProducerBatch b{7, 0, seq, 1 + i % 3, false, "b" + std::to_string(i)};
        sent.emplace_back(b, f.write(b));
        seq += b.records;
    }
    const Offset end = f.log->log_end_offset();
    for (std::size_t i = sent.size() - log::format::kProducerBatchesKept; i < sent.size(); ++i) {
        CAPTURE(i);
        auto again = try_append(*f.log, sent[i].first);
        REQUIRE(again.is_ok());
        CHECK(again->duplicate);
        CHECK(again->base_offset == sent[i].second.base_offset);
        CHECK(again->last_offset == sent[i].second.last_offset);
        CHECK(f.log->log_end_offset() == end);
    }
    // Older than the last 5: Kafka can no longer tell it is a duplicate and reports it out of
    // order (the client then fails the batch instead of writing it twice).
    for (std::size_t i = 0; i + log::format::kProducerBatchesKept < sent.size(); ++i) {
        auto old = try_append(*f.log, sent[i].first);
        CHECK(old.code() == Code::out_of_order_sequence);
    }
    CHECK(f.log->log_end_offset() == end);
    f.check_contents();
    f.write({7, 0, seq, 2, false, "next"});
    f.check_contents();
    const auto state = f.log->producer_state(7);
    REQUIRE(state);
    CHECK(state->last_sequence() == seq + 1);
    CHECK(state->batches.size() == log::format::kProducerBatchesKept);
}

TEST_CASE("a sequence gap is out_of_order_sequence naming partition, producer, expected and got") {
    Fixture f;
    f.write({42, 3, 0, 4});
    const Offset end = f.log->log_end_offset();
    auto gap = try_append(*f.log, {42, 3, 6, 1});
    REQUIRE(gap.code() == Code::out_of_order_sequence);
    const std::string message = gap.status().message();
    CHECK(message.find(f.dir) != std::string::npos);
    CHECK(message.find("producer 42") != std::string::npos);
    CHECK(message.find("expected sequence 4") != std::string::npos);
    CHECK(message.find("received 6") != std::string::npos);
    // A batch overlapping the last one without matching it is out of order too.
    CHECK(try_append(*f.log, {42, 3, 2, 3}).code() == Code::out_of_order_sequence);
    CHECK(f.log->log_end_offset() == end);
    f.write({42, 3, 4, 1});
    f.check_contents();
}

TEST_CASE("an older epoch is fenced; a newer epoch starts at sequence 0 and resets the batches") {
    Fixture f;
    const ProducerBatch first{5, 1, 0, 2};
    f.write(first);
    f.write({5, 1, 2, 2});
    // A new epoch must begin at 0.
    CHECK(try_append(*f.log, {5, 2, 4, 1}).code() == Code::out_of_order_sequence);
    f.write({5, 2, 0, 3, false, "e2"});
    CHECK(f.log->producer_state(5)->epoch == 2);
    CHECK(f.log->producer_state(5)->batches.size() == 1);
    // The old epoch is fenced, for new batches, re-sent ones and markers alike.
    CHECK(try_append(*f.log, {5, 1, 4, 1}).code() == Code::fenced);
    CHECK(try_append(*f.log, first).code() == Code::fenced);
    CHECK(append_marker(*f.log, 5, 1, log::ControlType::abort).code() == Code::fenced);
    // A marker of a still newer epoch (a coordinator's abort on timeout) bumps the epoch too.
    REQUIRE(append_marker(*f.log, 5, 3, log::ControlType::abort).is_ok());
    CHECK(try_append(*f.log, {5, 2, 3, 1}).code() == Code::fenced);
    CHECK(try_append(*f.log, {5, 3, 1, 1}).code() == Code::out_of_order_sequence);
    f.write({5, 3, 0, 1, false, "e3"});
    f.check_contents();
}

TEST_CASE("sequences wrap from INT32_MAX to 0, and duplicates across the wrap are found") {
    Fixture f;
    // A producer the partition has never seen may start anywhere, as in Kafka.
    f.write({9, 0, kMaxSeq - 2, 2});
    const ProducerBatch across{9, 0, kMaxSeq, 3, false, "w"};  // sequences MAX, 0, 1
    const auto placed = f.write(across);
    CHECK(f.log->producer_state(9)->last_sequence() == 1);
    auto again = try_append(*f.log, across);
    REQUIRE(again.is_ok());
    CHECK(again->duplicate);
    CHECK(again->base_offset == placed.base_offset);
    CHECK(try_append(*f.log, {9, 0, 3, 1}).code() == Code::out_of_order_sequence);
    f.write({9, 0, 2, 1, false, "after"});
    CHECK(log::next_sequence(kMaxSeq) == 0);
    CHECK(log::add_sequence(kMaxSeq - 1, 5) == 3);
    f.check_contents();
}

TEST_CASE("batches without a producer id are not checked, malformed idempotent ones are refused") {
    Fixture f;
    const auto a = append(*f.log, {make_record(1, 100)});
    const auto b = append(*f.log, {make_record(1, 100)});
    CHECK(b.base_offset == a.base_offset + 1);
    CHECK_FALSE(b.duplicate);
    CHECK(try_append(*f.log, {3, -1, 0, 1}).code() == Code::invalid_argument);
    CHECK(try_append(*f.log, {3, 0, -1, 1}).code() == Code::invalid_argument);
    log::BatchOptions options;
    options.transactional = true;
    auto bytes = log::encode_batch(std::vector{make_record(1, 100)}, options);
    REQUIRE(bytes.is_ok());
    CHECK(f.log->append(*bytes).code() == Code::invalid_argument);
    CHECK(f.log->log_end_offset() == Offset(2));
}

// Several producers send batches, re-send random recent ones and sometimes skip ahead; a
// model of the producer state decides each outcome, and the log must hold exactly the batches
// the model accepted, in order.
TEST_CASE("random sends, re-sends and gaps of several producers match a model of the state") {
    Fixture f;
    std::mt19937_64 rng(20261126);
    struct ModelProducer {
        std::int16_t epoch = 0;
        std::int32_t next = 0;
        std::vector<std::pair<ProducerBatch, log::AppendResult>> sent;
    };
    std::map<std::int64_t, ModelProducer> producers;
    for (int step = 0; step < 600; ++step) {
        const std::int64_t pid = static_cast<std::int64_t>(rng() % 4);
        ModelProducer& p = producers[pid];
        const int choice = static_cast<int>(rng() % 10);
        CAPTURE(step);
        if (choice < 3 && !p.sent.empty()) {
            // Re-send one of the last 7 batches of the current epoch.
            const std::size_t back = 1 + rng() % std::min<std::size_t>(7, p.sent.size());
            const auto& [batch, original] = p.sent[p.sent.size() - back];
            auto again = try_append(*f.log, batch);
            if (back <= log::format::kProducerBatchesKept) {
                REQUIRE(again.is_ok());
                CHECK(again->duplicate);
                CHECK(again->base_offset == original.base_offset);
            } else {
                CHECK(again.code() == Code::out_of_order_sequence);
            }
        } else if (choice == 3 && !p.sent.empty()) {
            CHECK(try_append(*f.log, {pid, p.epoch, p.next + 1 + static_cast<int>(rng() % 3), 1})
                      .code() == Code::out_of_order_sequence);
        } else if (choice == 4) {
            ++p.epoch;
            p.next = 0;
            p.sent.clear();
        } else {
            const ProducerBatch b{pid,    p.epoch,
                                  p.next, 1 + static_cast<int>(rng() % 4),
                                  false,  "s" + std::to_string(step)};
            p.sent.emplace_back(b, f.write(b));
            p.next += b.records;
        }
    }
    f.check_contents();
    for (const auto& [pid, p] : producers) {
        const auto state = f.log->producer_state(pid);
        if (p.sent.empty()) continue;
        REQUIRE(state);
        CHECK(state->epoch == p.epoch);
        CHECK(state->last_sequence() == p.next - 1);
    }
}

TEST_CASE(
    "idle producers without an open transaction expire at roll after producer.id.expiration.ms") {
    Fixture f;
    f.config.producer_id_expiration_ms = 5'000;
    REQUIRE(f.log->set_config(f.config).is_ok());
    // Record timestamps are 1000 and up (see producer_records).
    const ProducerBatch idle{1, 0, 0, 2, false, "idle"};
    f.write(idle);
    f.write({2, 0, 0, 1, true, "open"});  // a transaction left open
    f.clock.set_ms(1'000 + 5'000 + 10);
    f.write({3, 0, 0, 1, false, "old"});
    // Producer 4's batch carries the current time.
    {
        log::BatchOptions options;
        options.producer_id = 4;
        options.producer_epoch = 0;
        options.base_sequence = 0;
        log::Record r = make_record(4, f.clock.now_ms());
        auto bytes = log::encode_batch(std::vector{r}, options);
        REQUIRE(bytes.is_ok());
        auto placed = f.log->append(*bytes);
        REQUIRE(placed.is_ok());
        r.offset = placed->base_offset;
        f.model.push_back(r);
    }
    REQUIRE(f.log->roll_if_due(true).value());
    CHECK_FALSE(f.log->producer_state(1));
    CHECK_FALSE(f.log->producer_state(3));
    CHECK(f.log->producer_state(2));  // its transaction is open
    CHECK(f.log->producer_state(4));
    // The forgotten producer's re-sent batch is taken as new and written again, as in Kafka.
    f.write(idle);
    f.check_contents();
    f.log->close().ignore();
    f.log.reset();
    f.log = open_log(f.env.fs(), f.dir, f.config, f.clock);
    // Close expired producer 1 again: its batch timestamps are old. The others are as before.
    CHECK_FALSE(f.log->producer_state(1));
    CHECK_FALSE(f.log->producer_state(3));
    CHECK(f.log->producer_state(2));
    CHECK(f.log->producer_state(4));
    f.check_contents();
}

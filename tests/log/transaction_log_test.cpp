// Transactions in the partition log: the last stable offset, the read_committed and
// read_uncommitted views, open transactions and the aborted index, checked against a
// brute-force model over random interleavings of several transactional producers, an
// idempotent one and a plain one; and the same after a clean reopen and after power cuts.
#include <algorithm>
#include <brook/clock.hpp>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "log/control_batch.hpp"
#include "log/format.hpp"
#include "log/segment.hpp"
#include "support/fault_fs.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"
#include "support/txn_model.hpp"
#include "support/txn_util.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

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
        auto log = open_log(faulty, dir, workload_segments(), clock);
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
            auto crashed = open_log(*image, dir, workload_segments(), clock);
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
        log = open_log(faulty, dir, workload_segments(), clock);
        CHECK(log->recovery_report().clean_shutdown);
        CHECK(log->recovery_report().producer_batches_replayed == 0);
        check_against_model(*log, work.model, rng);
        work.check_dedupe(*log);

        // A power cut with an unsynced, torn tail: the log and its state are the model's
        // prefix up to the recovered end.
        work.run(*log, rng, 50);
        auto torn = faulty.crash_image(Tear::prefix, seed);
        auto recovered = open_log(*torn, dir, workload_segments(), clock);
        CHECK(recovered->log_end_offset() <= log->log_end_offset());
        check_against_model(*recovered, work.model, rng);
        work.check_dedupe(*recovered);
        REQUIRE(recovered->close().is_ok());
        recovered.reset();
        auto again = open_log(*torn, dir, workload_segments(), clock);
        check_against_model(*again, work.model, rng);
    }
}

TEST_CASE(
    "a follower sees the writer's LSO, open transactions and aborted ranges as it refreshes") {
    MemoryEnv env;
    ManualClock clock(1000);
    const std::string dir = env.root() + "/p";
    std::mt19937_64 rng(7);
    Workload work;
    auto writer = open_log(env.fs(), dir, workload_segments(), clock);
    work.run(*writer, rng, 150);
    auto follower = log::PartitionLog::open_follower(env.fs(), dir, workload_segments(), clock);
    REQUIRE_MESSAGE(follower.is_ok(), follower.status().to_string());
    check_against_model(**follower, work.model, rng);
    for (int round = 0; round < 3; ++round) {
        work.run(*writer, rng, 80);
        REQUIRE((*follower)->refresh().is_ok());
        CHECK((*follower)->log_end_offset() == writer->log_end_offset());
        check_against_model(**follower, work.model, rng);
    }
    // Files are the writer's: the follower changed none.
    const auto before = env.fs().list_dir(dir);
    REQUIRE(before.is_ok());
    follower->reset();
    const auto after = env.fs().list_dir(dir);
    REQUIRE(after.is_ok());
    CHECK(*before == *after);
}

// A power cut after every k-th change to the disk during a workload with rolls, commits and
// aborts: each image reopens to a prefix of the model, with its LSO, open transactions and
// aborted ranges, and reopens the same way a second time.
TEST_CASE("power cuts at every point of a transactional workload reopen to a prefix of the model") {
    int images = 0;
    for (std::uint64_t k = 1;; k += 5) {
        CAPTURE(k);
        MemoryEnv env;
        FaultFileSystem faulty(env.fs());
        faulty.mark_durable(env.root());
        ManualClock clock(1000);
        const std::string dir = env.root() + "/p";
        std::mt19937_64 rng(k);
        Workload work;
        {
            auto log = open_log(faulty, dir, workload_segments(), clock);
            faulty.crash_after(k, k % 2 == 0 ? Tear::prefix : Tear::garbage, k);
            work.run(*log, rng, 90);
            REQUIRE(log->flush().is_ok());
        }
        auto image = faulty.captured_image();
        if (!image) break;
        ++images;
        {
            auto recovered = open_log(*image, dir, workload_segments(), clock);
            check_against_model(*recovered, work.model, rng);
            work.check_dedupe(*recovered);
        }
        auto again = open_log(*image, dir, workload_segments(), clock);
        CHECK(again->recovery_report().clean_shutdown);
        check_against_model(*again, work.model, rng);
    }
    CHECK(images > 30);
}

// Readers race a writer whose transactions are decided in advance: records of transactions
// that will abort carry values starting with 'A'. A read_committed reader must never see one,
// nor anything at or past the LSO it read, while appends, markers and rolls go on.
TEST_CASE("read_committed readers racing transactional appends never see aborted records") {
    MemoryEnv env;
    ManualClock clock(1000);
    auto log = open_log(env.fs(), env.root() + "/p", workload_segments(), clock);
    std::atomic<bool> done{false};
    std::atomic<std::int64_t> seen{0};
    std::atomic<std::int64_t> aborted_seen{0};
    auto reader = [&] {
        Offset position(0);
        for (;;) {
            const bool finished = done.load();
            const Offset stable = log->last_stable_offset();
            auto batches = log->read(position, 2048, log::Isolation::read_committed);
            if (!batches.is_ok()) {
                FAIL_CHECK(batches.status().to_string());
                return;
            }
            for (const auto& batch : *batches) {
                for (const auto& r : batch.records) {
                    if (r.value->front() == 'A') ++aborted_seen;
                    ++seen;
                }
                position = batch.header.last_offset() + 1;
            }
            if (batches->empty() && finished && position >= stable) return;
            if (batches->empty()) std::this_thread::yield();
        }
    };
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i) readers.emplace_back(reader);
    std::mt19937_64 rng(5);
    // Per producer: its next sequence and, while a transaction is open, whether it aborts.
    std::map<std::int64_t, std::int32_t> sequences;
    std::map<std::int64_t, std::optional<bool>> aborts;
    std::int64_t committed_records = 0;
    std::map<std::int64_t, std::int64_t> pending;
    for (int step = 0; step < 1500; ++step) {
        const std::int64_t pid = static_cast<std::int64_t>(rng() % 3);
        auto& abort = aborts[pid];
        if (abort && rng() % 4 == 0) {
            REQUIRE(append_marker(*log, pid, 0,
                                  *abort ? log::ControlType::abort : log::ControlType::commit)
                        .is_ok());
            if (!*abort) committed_records += pending[pid];
            pending[pid] = 0;
            abort.reset();
            continue;
        }
        if (!abort) abort = rng() % 3 == 0;
        const ProducerBatch batch{pid, 0, sequences[pid], 2, true, *abort ? "A" : "C"};
        REQUIRE(try_append(*log, batch).is_ok());
        sequences[pid] += 2;
        pending[pid] += 2;
    }
    for (auto& [pid, abort] : aborts) {
        if (!abort) continue;
        REQUIRE(
            append_marker(*log, pid, 0, *abort ? log::ControlType::abort : log::ControlType::commit)
                .is_ok());
        if (!*abort) committed_records += pending[pid];
    }
    done = true;
    for (auto& t : readers) t.join();
    CHECK(log->last_stable_offset() == log->log_end_offset());
    CHECK(aborted_seen.load() == 0);
    CHECK(seen.load() == 3 * committed_records);
}

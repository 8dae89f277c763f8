// Roll checkpoints left to another thread (PartitionLog::defer_roll_checkpoints): a roll then
// syncs only the old segment's log and the directory, and keeps the producer snapshot and the
// recovery point in memory until write_roll_checkpoint() writes them. These tests record what
// each roll syncs, and cut the power before and after the checkpoint is written: the reopened
// log must hold the model's batches and producer state either way, having scanned back to the
// last recovery point written. Retention, which removes batches whose producer state then lives
// only in the snapshots, must write a pending checkpoint first (compaction's swap likewise:
// tests/cleaner/transaction_compaction_test.cpp).
#include <algorithm>
#include <brook/clock.hpp>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "log/checkpoint.hpp"
#include "log/format.hpp"
#include "log/producer_snapshot.hpp"
#include "support/fault_fs.hpp"
#include "support/fs_util.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"
#include "support/txn_model.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// A snapshot or the recovery point, or the temporary file either is written through.
bool is_roll_checkpoint_file(std::string path) {
    if (path.ends_with(log::format::kTempSuffix))
        path.resize(path.size() - log::format::kTempSuffix.size());
    return path.ends_with(log::format::kSnapshotSuffix) ||
           path.ends_with(log::format::kRecoveryPointFile);
}

std::optional<Offset> read_recovery_point(fs::FileSystem& fs, const std::string& dir) {
    auto read = log::read_checkpoint(fs, dir, log::CheckpointKind::recovery_point);
    REQUIRE_MESSAGE(read.is_ok(), read.status().to_string());
    if (!read->has_value()) return std::nullopt;
    return (*read)->offset;
}

using ProducerStates = std::map<std::int64_t, std::optional<log::ProducerEntry>>;

// A log on a fault-injecting file system whose root is durable, with its rolls' checkpoints
// deferred (the wake does nothing: the tests write them when they choose), and the workload of
// idempotent and transactional producers that fills it.
struct DeferredLog {
    MemoryEnv env;
    FaultFileSystem faulty{env.fs()};
    ManualClock clock{1000};
    const std::string dir = env.root() + "/p";
    std::mt19937_64 rng;
    Workload work;
    std::unique_ptr<log::PartitionLog> log;
    std::shared_ptr<fs::FileSystem> image;  // the last crash image, which `crashed` uses
    std::unique_ptr<log::PartitionLog> crashed;

    explicit DeferredLog(std::uint64_t seed) : rng(seed) {
        faulty.mark_durable(env.root());
        log = open_log(faulty, dir, workload_segments(), clock);
        log->defer_roll_checkpoints([] {});
    }

    ProducerStates states(const log::PartitionLog& of) const {
        ProducerStates out;
        for (const auto& p : work.producers) out[p.id] = of.producer_state(p.id);
        return out;
    }

    // Cuts the power now and reopens what the disk holds as `crashed`.
    log::PartitionLog& crash() {
        crashed.reset();
        image = faulty.crash_image();
        crashed = open_log(*image, dir, workload_segments(), clock);
        return *crashed;
    }

    std::optional<Offset> recovery_point() { return read_recovery_point(faulty, dir); }

    // Runs the workload, ends every transaction and rolls, so that every batch lies in a sealed
    // segment; returns the base of the new active segment.
    Offset fill_and_roll() {
        work.run(*log, rng, 150);
        work.finish_all(*log, rng);
        REQUIRE(log->roll_if_due(true).is_ok());
        REQUIRE(log->segments().size() > 3);
        return log->segments().back().base_offset;
    }

    // Appends 300 batches of two records without producer ids and returns every path synced
    // meanwhile.
    std::vector<std::string> fill_recording_syncs() {
        std::vector<std::string> synced;
        faulty.before_sync = [&synced](const std::string& path) {
            synced.push_back(path);
            return Status::ok();
        };
        for (int b = 0; b < 300; ++b) {
            append(*log, {make_record(2 * b, 1000 + b), make_record(2 * b + 1, 1000 + b)});
        }
        faulty.before_sync = nullptr;
        return synced;
    }
};

}  // namespace

TEST_CASE("a deferred roll syncs no checkpoint file; write_roll_checkpoint() writes the last") {
    SUBCASE("by default each roll writes its snapshot and recovery point itself") {
        MemoryEnv env;
        FaultFileSystem faulty(env.fs());
        ManualClock clock(1000);
        const std::string dir = env.root() + "/p";
        auto log = open_log(faulty, dir, workload_segments(), clock);
        std::vector<std::string> synced;
        faulty.before_sync = [&synced](const std::string& path) {
            synced.push_back(path);
            return Status::ok();
        };
        for (int b = 0; b < 300; ++b) append(*log, {make_record(b, 1000 + b)});
        faulty.before_sync = nullptr;
        const std::size_t rolls = log->segments().size() - 1;
        REQUIRE(rolls >= 4);
        CHECK(std::count_if(synced.begin(), synced.end(), is_roll_checkpoint_file) >=
              static_cast<std::ptrdiff_t>(2 * rolls));
        CHECK(read_recovery_point(faulty, dir) == log->segments().back().base_offset);
        CHECK(log->write_roll_checkpoint().is_ok());  // nothing pending
    }

    SUBCASE("deferred, the rolls only ask for them") {
        DeferredLog d(1);
        int wakes = 0;
        d.log->defer_roll_checkpoints([&wakes] { ++wakes; });
        const std::vector<std::string> synced = d.fill_recording_syncs();
        const auto segments = d.log->segments();
        REQUIRE(segments.size() >= 5);
        CHECK(wakes == static_cast<int>(segments.size() - 1));
        for (const std::string& path : synced) {
            CAPTURE(path);
            CHECK_FALSE(is_roll_checkpoint_file(path));
        }
        // Each old segment's log was still made durable by its roll.
        for (std::size_t s = 0; s + 1 < segments.size(); ++s) {
            const std::string log_file =
                segment_file(d.dir, segments[s].base_offset, log::format::kLogSuffix);
            CHECK(std::count(synced.begin(), synced.end(), log_file) == 1);
        }
        CHECK(d.recovery_point() == std::nullopt);

        // Only the last roll's checkpoint is written: the earlier ones were replaced.
        const Offset active_base = segments.back().base_offset;
        REQUIRE(d.log->write_roll_checkpoint().is_ok());
        CHECK(d.recovery_point() == active_base);
        const auto names = d.faulty.list_dir(d.dir);
        REQUIRE(names.is_ok());
        CHECK(log::snapshot_offsets(*names) == std::vector<Offset>{active_base});
    }
}

TEST_CASE("a failed roll checkpoint stays pending and is written by the next call") {
    DeferredLog d(1);
    d.fill_recording_syncs();
    const Offset active_base = d.log->segments().back().base_offset;

    d.faulty.before_sync = [](const std::string& path) {
        return is_roll_checkpoint_file(path) ? Status::io_error("injected: the disk failed")
                                             : Status::ok();
    };
    const Status failed = d.log->write_roll_checkpoint();
    CHECK(failed.code() == Code::io_error);
    d.faulty.before_sync = nullptr;
    CHECK(d.recovery_point() != active_base);
    // Appends are unaffected: the checkpoint holds no acknowledged data.
    append(*d.log, {make_record(9000, 5000)});

    REQUIRE(d.log->write_roll_checkpoint().is_ok());
    CHECK(d.recovery_point() == active_base);
}

TEST_CASE("power cuts before and after a deferred roll checkpoint recover the model's state") {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        CAPTURE(seed);
        DeferredLog d(seed);
        for (int round = 0; round < 4; ++round) d.work.run(*d.log, d.rng, 60);
        const auto segments = d.log->segments();
        REQUIRE(segments.size() > 3);
        // Batches after the last roll, which the snapshot at its base must not hold.
        REQUIRE(d.log->log_end_offset() > segments.back().base_offset);
        REQUIRE(d.log->flush().is_ok());
        const ProducerStates states = d.states(*d.log);

        // Checked after each power cut: no checkpoint written yet, so recovery scans every
        // segment; then written, so it starts at the active segment, from the snapshot taken at
        // the roll.
        for (const int scanned : {static_cast<int>(segments.size()), 1}) {
            if (scanned == 1) REQUIRE(d.log->write_roll_checkpoint().is_ok());
            log::PartitionLog& crashed = d.crash();
            CHECK(crashed.recovery_report().segments_scanned == scanned);
            CHECK(crashed.log_end_offset() == d.log->log_end_offset());
            CHECK(d.states(crashed) == states);
            check_against_model(crashed, d.work.model, d.rng);
            d.work.check_dedupe(crashed);
        }
    }
}

TEST_CASE("close() writes the roll checkpoint still pending") {
    DeferredLog d(1);
    d.fill_recording_syncs();
    const Offset active_base = d.log->segments().back().base_offset;
    REQUIRE(active_base > Offset(0));
    CHECK(d.recovery_point() == std::nullopt);
    REQUIRE(d.log->close().is_ok());
    CHECK(d.recovery_point() == active_base);
    CHECK(d.log->write_roll_checkpoint().is_ok());  // closed: nothing to do
}

TEST_CASE("retention writes the pending roll checkpoint before it removes segments") {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        CAPTURE(seed);
        DeferredLog d(seed);
        const Offset active_base = d.fill_and_roll();
        const ProducerStates states = d.states(*d.log);

        // Every sealed segment goes: the producers' batches are only in the snapshots now.
        REQUIRE(d.log->advance_log_start(active_base).is_ok());
        REQUIRE(d.log->segments().size() == 1);
        CHECK(d.recovery_point() == active_base);
        REQUIRE(d.log->flush().is_ok());
        log::PartitionLog& crashed = d.crash();
        CHECK(crashed.log_start_offset() == active_base);
        CHECK(d.states(crashed) == states);
    }
}

TEST_CASE("an open that replays past a lost checkpoint leaves it pending for retention") {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        CAPTURE(seed);
        DeferredLog d(seed);
        const Offset active_base = d.fill_and_roll();
        REQUIRE(d.log->flush().is_ok());
        const ProducerStates states = d.states(*d.log);

        // The power fails with the rolls' checkpoints unwritten: the open replays every segment.
        const auto image = d.faulty.crash_image();
        FaultFileSystem reopened_fs(*image);
        reopened_fs.mark_durable(d.env.root());
        auto reopened = open_log(reopened_fs, d.dir, workload_segments(), d.clock);
        reopened->defer_roll_checkpoints([] {});
        CHECK(read_recovery_point(reopened_fs, d.dir) == std::nullopt);
        CHECK(d.states(*reopened) == states);

        // Retention then removes every sealed segment, and the power fails again: the snapshot
        // the open left pending still brings every producer back.
        REQUIRE(reopened->advance_log_start(active_base).is_ok());
        CHECK(read_recovery_point(reopened_fs, d.dir) == active_base);
        REQUIRE(reopened->flush().is_ok());
        const auto second_image = reopened_fs.crash_image();
        auto again = open_log(*second_image, d.dir, workload_segments(), d.clock);
        CHECK(again->log_start_offset() == active_base);
        CHECK(d.states(*again) == states);
    }
}

TEST_CASE("a roll during retention's checkpoint write keeps the segments above the last one") {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        CAPTURE(seed);
        DeferredLog d(seed);
        const Offset first_roll = d.fill_and_roll();

        // While retention writes the first roll's checkpoint, more batches come and roll: the
        // second roll's checkpoint is pending when retention removes segments, up to the end.
        bool rolled = false;
        Offset second_roll;
        d.faulty.before_sync = [&](const std::string& path) {
            if (!rolled && path.find(log::format::kRecoveryPointFile) != std::string::npos) {
                rolled = true;  // first: the appends and the roll sync files too
                d.work.run(*d.log, d.rng, 60);
                d.work.finish_all(*d.log, d.rng);
                REQUIRE(d.log->roll_if_due(true).is_ok());
                second_roll = d.log->segments().back().base_offset;
            }
            return Status::ok();
        };
        REQUIRE(d.log->advance_log_start(Offset(std::numeric_limits<std::int64_t>::max())).is_ok());
        d.faulty.before_sync = nullptr;
        REQUIRE(second_roll > first_roll);
        CHECK(d.recovery_point() == first_roll);
        const ProducerStates states = d.states(*d.log);
        REQUIRE(d.log->flush().is_ok());

        // The start moved to the end the call saw, but the segments from the first roll on stay
        // until the second roll's checkpoint is written: a replay starts from the first's.
        const auto kept = d.log->segments();
        CHECK(kept.front().base_offset == first_roll);
        CHECK(kept.back().base_offset == second_roll);
        log::PartitionLog& crashed = d.crash();
        CHECK(crashed.log_start_offset() == d.log->log_start_offset());
        CHECK(d.states(crashed) == states);
        d.work.check_dedupe(crashed);
        // The reopened log finishes the removal once it has written the second roll's checkpoint.
        REQUIRE(crashed.write_roll_checkpoint().is_ok());
        CHECK(crashed.segments().size() == 1);
        CHECK(read_recovery_point(*d.image, d.dir) == second_roll);

        // So does the running one.
        REQUIRE(d.log->write_roll_checkpoint().is_ok());
        CHECK(d.log->segments().size() == 1);
        CHECK(d.recovery_point() == second_roll);
        CHECK(d.states(d.crash()) == states);
    }
}

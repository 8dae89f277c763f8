// Compaction of logs with transactions, against the transaction model: the cleaned range
// never reaches the segment holding the last stable offset; below the cleaned offset only the
// latest committed record of each key survives, aborted records are gone and every marker is
// kept; above it nothing changes. The views stay right across reopen and a power cut, also when
// the rolls leave their checkpoints pending.
#include <brook/clock.hpp>
#include <map>
#include <random>
#include <set>

#include "cleaner/compactor.hpp"
#include "log/format.hpp"
#include "log/segment.hpp"
#include "support/fault_fs.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"
#include "support/txn_model.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// The model's view after compaction to `cleaned_to`: below it, the latest committed record of
// each key among the committed records below it; from it on, `view` unchanged.
std::vector<log::Record> compacted(const Model& model, Offset end, Offset cleaned_to,
                                   const std::vector<log::Record>& view) {
    const auto committed = model.view(end, log::Isolation::read_committed);
    std::map<std::string, Offset> latest;
    for (const auto& r : committed) {
        if (r.offset < cleaned_to) latest[*r.key] = r.offset;
    }
    std::vector<log::Record> out;
    for (const auto& r : committed) {
        if (r.offset < cleaned_to && latest[*r.key] == r.offset) out.push_back(r);
    }
    for (const auto& r : view) {
        if (r.offset >= cleaned_to) out.push_back(r);
    }
    return out;
}

std::size_t markers(const log::PartitionLog& log) {
    std::size_t count = 0;
    for (Offset from = log.log_start_offset(); from < log.log_end_offset();) {
        auto batches = log.read_batches(from, 1 << 20);
        REQUIRE(batches.is_ok());
        REQUIRE(!batches->empty());
        for (const auto& b : *batches) {
            if (b.header.is_control()) ++count;
            from = b.header.last_offset() + 1;
        }
    }
    return count;
}

void check_compacted(const log::PartitionLog& log, const Model& model, Offset cleaned_to) {
    const Offset end = log.log_end_offset();
    CHECK(log.last_stable_offset() == model.lso(end));
    CHECK(log.open_transactions() == model.open_transactions(end));
    for (const auto isolation :
         {log::Isolation::read_uncommitted, log::Isolation::read_committed}) {
        CAPTURE(static_cast<int>(isolation));
        CHECK(read_view(log, log.log_start_offset(), isolation, 1 << 16) ==
              compacted(model, end, cleaned_to, model.view(end, isolation)));
    }
    std::size_t expected_markers = 0;
    for (const auto& b : model.batches) expected_markers += b.control ? 1 : 0;
    CHECK(markers(log) == expected_markers);
}

// Every snapshot sits at a segment's base offset or inside the active segment (the one close
// writes), and every .txnindex belongs to a segment: the swap removed those of the replaced
// segments.
void check_files(fs::FileSystem& fs, const std::string& dir, const log::PartitionLog& log) {
    std::set<Offset> bases;
    for (const auto& s : log.segments()) bases.insert(s.base_offset);
    const auto names = fs.list_dir(dir);
    REQUIRE(names.is_ok());
    for (const auto& name : *names) {
        CAPTURE(name);
        if (auto at = log::Segment::parse_file_name(name, log::format::kSnapshotSuffix)) {
            CHECK((bases.contains(*at) || *at >= *bases.rbegin()));
        }
        if (auto base = log::Segment::parse_file_name(name, log::format::kTxnIndexSuffix)) {
            CHECK(bases.contains(*base));
        }
    }
}

}  // namespace

TEST_CASE("compaction removes aborted records, keeps markers and stops below the LSO") {
    for (int run = 0; run < 8; ++run) {
        // Seeds 1 to 4, then again with the rolls leaving their snapshots and recovery points
        // pending, as in a store with its background thread: the pass writes them before it
        // swaps, so the replay after the power cut below still finds every producer's state.
        const std::uint64_t seed = 1 + run % 4;
        const bool deferred = run >= 4;
        CAPTURE(seed);
        CAPTURE(deferred);
        MemoryEnv env;
        FaultFileSystem faulty(env.fs());
        faulty.mark_durable(env.root());
        ManualClock clock(1000);
        log::LogConfig config;
        config.segment_bytes = 1200;
        config.index_interval_bytes = 200;
        const std::string dir = env.root() + "/p";
        auto log = open_log(faulty, dir, config, clock);
        if (deferred) log->defer_roll_checkpoints([] {});
        std::mt19937_64 rng(seed);
        Workload work;
        work.key_space = 6;
        cleaner::CleanerState state;
        cleaner::CompactionConfig compaction;
        compaction.min_cleanable_dirty_ratio = 0;

        work.run(*log, rng, 150);
        work.finish_all(*log, rng);
        work.run(*log, rng, 40);  // transactions open again
        REQUIRE(log->roll_if_due(true).is_ok());
        auto result = cleaner::compact(*log, state, compaction, clock.now_ms(), true);
        REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
        CHECK(result->ran);
        CHECK(result->records_removed > 0);
        CHECK(result->cleaned_to <= log->last_stable_offset());
        // The segment holding the LSO is not cleaned.
        Offset holding;
        for (const auto& s : log->segments()) {
            if (s.base_offset <= log->last_stable_offset()) holding = s.base_offset;
        }
        CHECK(result->cleaned_to <= holding);
        CHECK_FALSE(log->open_transactions().empty());
        check_compacted(*log, work.model, result->cleaned_to);

        work.run(*log, rng, 120);
        work.finish_all(*log, rng);
        REQUIRE(log->roll_if_due(true).is_ok());
        // Larger segments from now on: the pass merges every sealed segment into one, so the
        // swap removes the replaced segments' snapshots and indexes.
        config.segment_bytes = 1 << 20;
        REQUIRE(log->set_config(config).is_ok());
        const std::size_t segments_before = log->segments().size();
        result = cleaner::compact(*log, state, compaction, clock.now_ms(), true);
        REQUIRE(result.is_ok());
        CHECK(result->cleaned_to == log->segments().back().base_offset);
        const Offset cleaned_to = result->cleaned_to;
        check_compacted(*log, work.model, cleaned_to);
        check_files(faulty, dir, *log);
        CHECK(log->segments().size() == 2);
        CHECK(segments_before > 4);
        work.check_dedupe(*log);

        REQUIRE(log->flush().is_ok());
        auto image = faulty.crash_image();
        {
            auto crashed = open_log(*image, dir, config, clock);
            check_compacted(*crashed, work.model, cleaned_to);
            work.check_dedupe(*crashed);
        }
        REQUIRE(log->close().is_ok());
        log.reset();
        log = open_log(faulty, dir, config, clock);
        check_compacted(*log, work.model, cleaned_to);
        work.check_dedupe(*log);
    }
}

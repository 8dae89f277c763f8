// Followers across compaction: a follower whose segments a compaction pass replaces, or that
// lags behind a pass which removes segments it never opened, still reads a whole log. Every
// record it shows is one the writer wrote, in order, and every record the compacted log keeps is
// there. (tests/cleaner/swap_crash_test.cpp opens followers at every step of a swap.)
#include <algorithm>
#include <brook/clock.hpp>
#include <random>

#include "cleaner/compactor.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// A writer of keyed records over a few keys, so that compaction removes most of them, with a
// segment roll every few batches; `written` holds every record with its offset.
struct KeyedWriter {
    std::unique_ptr<log::PartitionLog> log;
    std::vector<log::Record> written;
    std::mt19937_64 rng{7};

    void write(int batches) {
        for (int b = 0; b < batches; ++b) {
            std::vector<log::Record> batch(1 + rng() % 3);
            for (auto& r : batch) {
                r.key = "k" + std::to_string(rng() % 10);
                r.value = std::string(1 + rng() % 30, static_cast<char>('a' + rng() % 26));
                r.timestamp = static_cast<std::int64_t>(written.size());
            }
            const auto placed = with_offsets(batch, append(*log, batch).base_offset);
            written.insert(written.end(), placed.begin(), placed.end());
            if (rng() % 4 == 0) REQUIRE(log->roll_if_due(true).is_ok());
        }
        REQUIRE(log->roll_if_due(true).is_ok());
    }
};

void compact(log::PartitionLog& log, const Clock& clock) {
    cleaner::CleanerState state;
    cleaner::CompactionConfig config;
    auto pass = cleaner::compact(log, state, config, clock.now_ms(), true);
    REQUIRE_MESSAGE(pass.is_ok(), pass.status().to_string());
}

}  // namespace

TEST_CASE_TEMPLATE("a follower reads a whole log across the writer's compaction passes", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(1'000);
    log::LogConfig config;
    config.segment_bytes = 600;
    config.segment_index_bytes = 4096;
    config.index_interval_bytes = 128;
    const std::string dir = env.root() + "/p";
    KeyedWriter writer;
    writer.log = open_log(env.fs(), dir, config, clock);
    writer.write(20);

    const auto followed = open_follower(env.fs(), dir, config, clock);
    auto& follower = *followed;
    REQUIRE(read_all(follower) == writer.written);

    // After each refresh the follower's records lie between what was written and what the
    // writer's log keeps, and it ends where the writer does.
    const auto check_follower = [&] {
        auto refreshed = follower.refresh();
        REQUIRE_MESSAGE(refreshed.is_ok(), refreshed.status().to_string());
        const auto seen = read_all(follower);
        CHECK(is_subsequence(writer.written, seen));
        CHECK(is_subsequence(seen, read_all(*writer.log)));
        CHECK(follower.log_end_offset() == writer.log->log_end_offset());
    };

    SUBCASE("the pass removes segments the follower never opened") {
        writer.write(40);
        const Offset last_held = follower.segments().back().base_offset;
        std::vector<Offset> unseen;  // segments written since the follower's last refresh
        for (const auto& s : writer.log->segments()) {
            if (s.base_offset > last_held) unseen.push_back(s.base_offset);
        }
        compact(*writer.log, clock);
        std::size_t removed = 0;
        for (const Offset base : unseen) {
            const auto now = writer.log->segments();
            removed += std::none_of(now.begin(), now.end(),
                                    [&](const auto& s) { return s.base_offset == base; });
        }
        CHECK(removed > 0);
        check_follower();
        // It reopened from the cleaned segment that took their place.
        CHECK(read_all(follower).size() < writer.written.size());
    }
    SUBCASE("the pass replaces the segments the follower holds") {
        compact(*writer.log, clock);
        check_follower();
        writer.write(40);
        check_follower();
        compact(*writer.log, clock);
        check_follower();
    }
    writer.write(10);
    check_follower();
}

// Crash safety of compaction: a pass is cut short at every one of its file system steps, in
// two ways. A process crash: the fault-injecting file system makes that step and every later
// one fail, and the log is reopened on what the process left. A power cut: the file system's
// durable state right after that step (unsynced file tails and directory entries dropped) is
// reopened. Either way the log must reopen to the old segments or the new ones, never a mix
// and never a loss, and a pass after the reopen must reach the same result as an
// uninterrupted one.
#include <brook/clock.hpp>
#include <random>

#include "cleaner/compactor.hpp"
#include "log/format.hpp"
#include "support/fault_fs.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

constexpr const char* kDir = "/mem/p";

log::LogConfig config_with(std::int64_t segment_bytes) {
    log::LogConfig config;
    config.segment_index_bytes = 4096;
    config.index_interval_bytes = 128;
    config.segment_bytes = segment_bytes;
    return config;
}

cleaner::CompactionConfig cleaner_config() {
    cleaner::CompactionConfig config;
    config.delete_retention_ms = 1LL << 40;  // tombstones stay: runs can be compared
    return config;
}

// The same keyed workload, with tombstones, codecs and rolls, every time.
std::unique_ptr<log::PartitionLog> build(fs::FileSystem& fs, const log::LogConfig& config,
                                         const Clock& clock) {
    auto opened = log::PartitionLog::open(fs, kDir, config, clock);
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
    auto log = std::move(opened).value();
    std::mt19937_64 rng(42);
    for (int step = 0; step < 60; ++step) {
        std::vector<log::Record> batch(1 + rng() % 4);
        for (auto& r : batch) {
            r.key = "k" + std::to_string(rng() % 12);
            if (rng() % 5 != 0)
                r.value = std::string(1 + rng() % 40, 'a' + static_cast<char>(step % 26));
            r.timestamp = step;
        }
        auto bytes = encode(batch, step % 3 == 0 ? log::Compression::zstd : log::Compression::none);
        REQUIRE(log->append(bytes).is_ok());
        if (rng() % 5 == 0) REQUIRE(log->roll_if_due(true).is_ok());
    }
    REQUIRE(log->roll_if_due(true).is_ok());
    return log;
}

void crash_at_every_step(std::int64_t segment_bytes, bool single_swap) {
    const auto config = config_with(segment_bytes);
    ManualClock clock(1'000);

    // The uninterrupted pass: what it starts from, what it ends with, how many steps it takes.
    std::vector<log::Record> before;
    std::vector<log::Record> after;
    std::int64_t steps = 0;
    {
        MemoryEnv env;
        FaultFileSystem fault(env.fs());
        auto log = build(fault, config, clock);
        before = read_all(*log);
        cleaner::CleanerState state;
        fault.reset_counts();
        auto pass = cleaner::compact(*log, state, cleaner_config(), clock.now_ms(), true);
        REQUIRE_MESSAGE(pass.is_ok(), pass.status().to_string());
        steps = static_cast<std::int64_t>(fault.operations(op::mutating));
        after = read_all(*log);
        CHECK(after.size() < before.size());
        CHECK(log->segments().size() > 1);
    }
    REQUIRE(steps > 10);

    // The old log, the new one, or, in a pass of several swaps, some swaps done: each swap is
    // whole, so every record kept is an original and every survivor is there.
    const auto whole = [&](const std::vector<log::Record>& got) {
        return got == before || got == after ||
               (!single_swap && is_subsequence(before, got) && is_subsequence(got, after));
    };
    int reopened_old = 0;
    int reopened_new = 0;
    // Every step of a single swap; for several swaps, every step of the first ones and then
    // every fifth (the swaps repeat the same steps), and the last.
    // Reopens `fs` after a crash and checks it against the old and new logs.
    auto check_reopened = [&](fs::FileSystem& fs, bool power_cut) {
        CAPTURE(power_cut);
        auto reopened = log::PartitionLog::open(fs, kDir, config, clock);
        REQUIRE_MESSAGE(reopened.is_ok(), reopened.status().to_string());
        const auto got = read_all(**reopened);
        reopened_old += got == before ? 1 : 0;
        reopened_new += got == after ? 1 : 0;
        CHECK(whole(got));
        CHECK(!fs.exists(std::string(kDir) + "/" + std::string(log::format::kCleanedDir)));
        CHECK(!fs.exists(std::string(kDir) + "/" + std::string(log::format::kSwapDir)));
        // Finishing the job after the restart gives what the uninterrupted pass gave.
        cleaner::CleanerState state;
        auto pass = cleaner::compact(**reopened, state, cleaner_config(), clock.now_ms(), true);
        REQUIRE_MESSAGE(pass.is_ok(), pass.status().to_string());
        CHECK(read_all(**reopened) == after);
    };
    for (std::int64_t crash = 0; crash <= steps;
         crash = single_swap || crash < 100 || crash + 5 > steps ? crash + 1 : crash + 5) {
        CAPTURE(crash);
        {
            // The process dies at step crash + 1: it and every later step fail.
            MemoryEnv env;
            {
                FaultFileSystem fault(env.fs());
                auto log = build(fault, config, clock);
                cleaner::CleanerState state;
                fault.inject({.kinds = op::mutating,
                              .nth = static_cast<std::uint64_t>(crash) + 1,
                              .persistent = true});
                auto pass = cleaner::compact(*log, state, cleaner_config(), clock.now_ms(), true);
                CHECK(pass.is_ok() == (crash == steps));
                // Readers of the crashed process still see a whole log.
                CHECK(whole(read_all(*log)));
                log.reset();  // its close fails too: no clean-shutdown marker
            }
            {
                // A reader process opening the partition at this step sees a whole log too.
                CHECK(whole(read_all(*open_follower(env.fs(), kDir, config, clock))));
            }
            check_reopened(env.fs(), false);
        }
        if (crash == 0) continue;
        // The power goes out right after step `crash`.
        MemoryEnv env;
        FaultFileSystem fault(env.fs());
        auto log = build(fault, config, clock);
        fault.mark_durable(kDir);
        fault.crash_after(static_cast<std::uint64_t>(crash), Tear::drop, 0);
        cleaner::CleanerState state;
        auto pass = cleaner::compact(*log, state, cleaner_config(), clock.now_ms(), true);
        REQUIRE_MESSAGE(pass.is_ok(), pass.status().to_string());
        auto image = fault.captured_image();
        REQUIRE(image != nullptr);
        check_reopened(*image, true);
    }
    // Crashes before the commit point reopen to the old log, crashes after it to the new one.
    CHECK(reopened_old > 0);
    CHECK(reopened_new > 0);
    MESSAGE("steps: " << steps << ", reopened old: " << reopened_old << ", new: " << reopened_new);
}

}  // namespace

TEST_CASE("a crash at any step of a one-segment swap reopens to the old or the new segment") {
    // segment.bytes large enough that every sealed segment merges into one: one swap.
    crash_at_every_step(1 << 20, true);
}

TEST_CASE("a crash during a pass of several swaps loses nothing and mixes no segment") {
    crash_at_every_step(600, false);
}

TEST_CASE("leftovers of an interrupted swap are cleaned up or finished on open") {
    MemoryEnv env;
    ManualClock clock(1'000);
    const auto config = config_with(1 << 20);
    std::vector<log::Record> before;
    {
        auto log = build(env.fs(), config, clock);
        before = read_all(*log);
    }
    // A staging directory with junk in it: discarded.
    const std::string staging = std::string(kDir) + "/" + std::string(log::format::kCleanedDir);
    REQUIRE(env.fs().create_dirs(staging).is_ok());
    REQUIRE(env.fs()
                .open(staging + "/00000000000000000000.log", fs::OpenMode::create_exclusive)
                .is_ok());
    auto reopened = log::PartitionLog::open(env.fs(), kDir, config, clock);
    REQUIRE_MESSAGE(reopened.is_ok(), reopened.status().to_string());
    CHECK(read_all(**reopened) == before);
    CHECK(!env.fs().exists(staging));
}

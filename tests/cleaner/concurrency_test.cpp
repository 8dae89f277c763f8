// Readers racing the cleaner: one thread appends keyed records and rolls segments, another
// runs compaction passes and moves the log start forward, and reader threads scan the log
// from its start over and over. Every record a reader sees must be exactly the record appended
// at that offset, offsets must increase within a scan, a read below the log start must fail
// with below_log_start (the reader then starts again at the start), and the latest record of
// every key must survive compaction. Meant to run under ThreadSanitizer too.
#include <atomic>
#include <brook/clock.hpp>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cleaner/compactor.hpp"
#include "cleaner/retention.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

TEST_CASE_TEMPLATE("readers see consistent, ordered records while compaction and retention run",
                   Env, MemoryEnv, PosixEnv) {
    Env env;
    ManualClock clock(1'000);
    log::LogConfig config;
    config.segment_index_bytes = 4096;
    config.index_interval_bytes = 256;
    config.segment_bytes = 2048;
    auto opened = log::PartitionLog::open(env.fs(), env.root() + "/p", config, clock);
    REQUIRE(opened.is_ok());
    auto& log = **opened;

    constexpr int kAppends = 1500;
    std::mutex model_mu;
    std::map<std::int64_t, log::Record> appended;  // offset -> the record as appended
    std::atomic<bool> done{false};
    std::atomic<int> failures{0};
    // What each failure was, for the report.
    std::mutex failed_mu;
    std::vector<std::string> failed;
    const auto fail = [&](std::string what) {
        ++failures;
        std::lock_guard lock(failed_mu);
        if (failed.size() < 10) failed.push_back(std::move(what));
    };
    std::atomic<int> scans{0};
    std::atomic<int> resets{0};
    std::atomic<int> passes{0};
    // Each thread goes on until the writer is done and the others have had their turns.
    const auto running = [&] { return !done || scans < 30 || passes < 10; };

    std::thread writer([&] {
        for (int i = 0; i < kAppends; ++i) {
            log::Record r;
            r.key = "k" + std::to_string(i % 37);
            if (i % 13 != 0) r.value = "v" + std::to_string(i);
            r.timestamp = i;
            auto bytes = encode({r});
            std::lock_guard lock(model_mu);
            auto result = log.append(bytes);
            if (!result.is_ok()) {
                fail("append: " + result.status().to_string());
                break;
            }
            r.offset = result->base_offset;
            appended[r.offset.value()] = r;
        }
        done = true;
    });

    std::thread cleaner_thread([&] {
        cleaner::CleanerState state;
        cleaner::CompactionConfig compaction;
        compaction.delete_retention_ms = 1LL << 40;
        int round = 0;
        while (running()) {
            ++passes;
            const auto compacted = cleaner::compact(log, state, compaction, clock.now_ms(), true);
            if (!compacted.is_ok()) fail("compact: " + compacted.status().to_string());
            // Now and then drop the oldest tenth of the log, as delete_records would.
            if (++round % 5 == 0) {
                const Offset start = log.log_start_offset();
                const Offset target = start + (log.log_end_offset() - start) / 10;
                const auto advanced = log.advance_log_start(target);
                if (!advanced.is_ok()) fail("advance_log_start: " + advanced.status().to_string());
            }
        }
    });

    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
        readers.emplace_back([&] {
            while (running()) {
                Offset from = log.log_start_offset();
                std::int64_t last = -1;
                for (;;) {
                    auto batches = log.read(from, 512);
                    if (!batches.is_ok()) {
                        if (batches.status().sub_code() != SubCode::below_log_start) {
                            fail("read: " + batches.status().to_string());
                        }
                        ++resets;
                        break;
                    }
                    if (batches->empty()) break;
                    for (const auto& batch : *batches) {
                        for (const auto& r : batch.records) {
                            if (r.offset.value() <= last) {
                                fail("offset " + std::to_string(r.offset.value()) + " after " +
                                     std::to_string(last));
                            }
                            last = r.offset.value();
                            std::lock_guard lock(model_mu);
                            const auto it = appended.find(r.offset.value());
                            if (it == appended.end() || !(it->second == r)) {
                                fail("offset " + std::to_string(r.offset.value()) +
                                     (it == appended.end() ? " was never appended"
                                                           : " differs from the append"));
                            }
                        }
                        from = batch.header.last_offset() + 1;
                    }
                }
                ++scans;
            }
        });
    }

    writer.join();
    cleaner_thread.join();
    for (auto& reader : readers) reader.join();
    for (const std::string& what : failed) MESSAGE(what);
    CHECK(failures == 0);
    CHECK(scans >= 30);
    MESSAGE("scans: " << scans.load() << ", resets below the log start: " << resets.load());

    // After a last pass, the latest record of every key at or above the start is there.
    REQUIRE(log.roll_if_due(true).is_ok());
    cleaner::CleanerState state;
    REQUIRE(cleaner::compact(log, state, {}, clock.now_ms(), true).is_ok());
    std::map<std::string, std::int64_t> latest;
    for (const auto& [offset, r] : appended) {
        if (Offset(offset) >= log.log_start_offset()) latest[*r.key] = offset;
    }
    std::map<std::string, std::int64_t> got;
    for (const auto& r : read_all(log)) {
        CHECK(!got.contains(*r.key));
        got[*r.key] = r.offset.value();
    }
    CHECK(got == latest);
}

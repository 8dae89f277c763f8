// A roll fsyncs the old segment's log but leaves its sealed indexes to the kernel's write-back
// (IndexSync::writeback): an index is derived from the log, and an open that finds one
// unsealed, torn or missing rebuilds it. These tests record which files a roll syncs, then cut
// the power after rolls and check that the reopened log answers every offset and timestamp
// lookup as a brute-force model does, with the sealed indexes rebuilt to the live ones' bytes.
#include <algorithm>
#include <brook/clock.hpp>
#include <string>
#include <vector>

#include "log/format.hpp"
#include "support/fault_fs.hpp"
#include "support/fs_util.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

constexpr int kBatches = 60;

log::LogConfig rolling_config() {
    log::LogConfig config;
    config.segment_index_bytes = 4096;  // the in-memory file system allocates it in full
    config.segment_bytes = 600;
    config.index_interval_bytes = 64;
    return config;
}

constexpr std::int64_t kFirstProbe = 9'990;
constexpr std::int64_t kLastProbe = 10'320;
constexpr std::int64_t kProbeStep = 3;

// Batch b holds records 2b and 2b + 1, with timestamps that rise and fall, so both indexes
// get entries and the time index's final entry matters.
std::int64_t timestamp_of(std::int64_t offset) {
    const std::int64_t b = offset / 2;
    return offset % 2 == 0 ? 10'000 + (b * 37) % 300 : 10'000 + b;
}

void fill(log::PartitionLog& log) {
    for (int b = 0; b < kBatches; ++b) {
        append(log, {make_record(2 * b, timestamp_of(2 * b)),
                     make_record(2 * b + 1, timestamp_of(2 * b + 1))});
    }
}

// The base offset of the batch holding each offset, then the answer for each probed
// timestamp: what the offset index and the time index decide.
std::vector<std::int64_t> lookups(const log::PartitionLog& log) {
    std::vector<std::int64_t> out;
    for (std::int64_t o = 0; o < log.log_end_offset().value(); ++o) {
        auto batches = log.read(Offset(o), 1);
        REQUIRE_MESSAGE(batches.is_ok(), batches.status().to_string());
        REQUIRE_FALSE(batches->empty());
        out.push_back(batches->front().header.base_offset.value());
    }
    for (std::int64_t t = kFirstProbe; t < kLastProbe; t += kProbeStep) {
        auto found = log.offset_for_timestamp(t);
        REQUIRE_MESSAGE(found.is_ok(), found.status().to_string());
        out.push_back(found->value_or(Offset(-1)).value());
    }
    return out;
}

// The same answers by brute force: a batch's base offset is the even offset at or below, and a
// timestamp's answer is the first record whose timestamp is at or above it (Kafka's rule).
std::vector<std::int64_t> expected_lookups() {
    const std::int64_t end = 2 * kBatches;
    std::vector<std::int64_t> out;
    for (std::int64_t o = 0; o < end; ++o) out.push_back(o - o % 2);
    for (std::int64_t t = kFirstProbe; t < kLastProbe; t += kProbeStep) {
        std::int64_t first = -1;
        for (std::int64_t o = 0; o < end && first < 0; ++o) {
            if (timestamp_of(o) >= t) first = o;
        }
        out.push_back(first);
    }
    return out;
}

}  // namespace

TEST_CASE("a roll fsyncs the old segment's log and leaves its indexes to write-back") {
    MemoryEnv env;
    FaultFileSystem faulty(env.fs());
    ManualClock clock;
    const std::string dir = env.root() + "/p";
    // Declared before the log, whose close at the end of the test still syncs through the hook.
    std::vector<std::string> synced;
    auto log = open_log(faulty, dir, rolling_config(), clock);
    faulty.before_sync = [&synced](const std::string& path) {
        synced.push_back(path);
        return Status::ok();
    };
    fill(*log);
    const auto segments = log->segments();
    REQUIRE(segments.size() >= 5);
    for (std::size_t s = 0; s + 1 < segments.size(); ++s) {
        CAPTURE(segments[s].base_offset.value());
        const std::string log_file =
            segment_file(dir, segments[s].base_offset, log::format::kLogSuffix);
        CHECK(std::count(synced.begin(), synced.end(), log_file) == 1);
    }
    for (const std::string& path : synced) {
        CAPTURE(path);
        CHECK_FALSE(path.ends_with(log::format::kOffsetIndexSuffix));
        CHECK_FALSE(path.ends_with(log::format::kTimeIndexSuffix));
    }
}

TEST_CASE("a power cut after rolls rebuilds the sealed indexes with identical lookups") {
    for (const Tear tear : {Tear::drop, Tear::prefix, Tear::garbage, Tear::zeros}) {
        CAPTURE(tear_name(tear));
        MemoryEnv env;
        FaultFileSystem faulty(env.fs());
        ManualClock clock;
        const std::string dir = env.root() + "/p";
        auto log = open_log(faulty, dir, rolling_config(), clock);
        faulty.mark_durable(env.root());
        fill(*log);
        REQUIRE(log->flush().is_ok());  // every batch durable; the indexes never synced
        const std::vector<std::int64_t> expected = expected_lookups();
        REQUIRE(lookups(*log) == expected);
        const auto segments = log->segments();
        REQUIRE(segments.size() >= 5);

        auto image = faulty.crash_image(tear, 17);
        auto recovered = open_log(*image, dir, rolling_config(), clock);
        CHECK(recovered->log_end_offset() == log->log_end_offset());
        CHECK(lookups(*recovered) == expected);
        // Rebuilt from the log, each sealed index holds exactly what the live one does.
        for (std::size_t s = 0; s + 1 < segments.size(); ++s) {
            CAPTURE(segments[s].base_offset.value());
            for (const std::string_view suffix :
                 {log::format::kOffsetIndexSuffix, log::format::kTimeIndexSuffix}) {
                const std::string path = segment_file(dir, segments[s].base_offset, suffix);
                CHECK(read_file(*image, path) == read_file(env.fs(), path));
            }
        }
    }
}

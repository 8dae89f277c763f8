// One appender and several readers on one partition log at once. Readers must only ever see
// complete batches, in offset order, with no gaps, and every record must be the one appended
// at its offset. Small segments make rolls (and index sealing) race with the readers.
// Run under ThreadSanitizer by .ci/run.
#include <atomic>
#include <brook/clock.hpp>
#include <latch>
#include <thread>

#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

constexpr int kBatches = 1500;
constexpr int kReaders = 3;

// The record every offset must hold; the appender writes offsets in order from 0.
log::Record expected_record(std::int64_t offset) {
    log::Record r = make_record(offset, offset);
    r.offset = Offset(offset);
    return r;
}

// Tails the log from 0 to `final_end`, checking every record. Returns the records seen.
std::int64_t tail(const log::PartitionLog& log, std::int64_t final_end, std::size_t max_bytes,
                  std::atomic<int>& failures) {
    std::int64_t next = 0;
    while (next < final_end) {
        auto batches = log.read(Offset(next), max_bytes);
        if (!batches.is_ok()) {
            ++failures;
            return next;
        }
        for (const auto& batch : *batches) {
            const auto& header = batch.header;
            if (header.record_count != batch.records.size() + (next - header.base_offset.value())) {
                ++failures;
            }
            for (const auto& record : batch.records) {
                if (record.offset.value() != next || record != expected_record(next)) ++failures;
                ++next;
            }
        }
        if (batches->empty()) std::this_thread::yield();
    }
    return next;
}

}  // namespace

TEST_CASE_TEMPLATE("readers tail a log while it is appended and rolled", Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock;
    log::LogConfig config;
    config.segment_bytes = 4000;
    config.index_interval_bytes = 200;
    auto opened = log::PartitionLog::open(env.fs(), env.root() + "/p", config, clock);
    REQUIRE(opened.is_ok());
    auto& log = **opened;

    std::int64_t final_end = 0;
    for (int b = 0; b < kBatches; ++b) final_end += 1 + b % 5;

    std::atomic<int> failures{0};
    std::atomic<int> append_failures{0};
    std::latch start(kReaders + 2);
    std::vector<std::int64_t> seen(kReaders);
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
        start.arrive_and_wait();
        std::int64_t next = 0;
        for (int b = 0; b < kBatches; ++b) {
            std::vector<log::Record> batch;
            for (int i = 0; i <= b % 5; ++i) batch.push_back(make_record(next + i, next + i));
            auto bytes =
                encode(batch, b % 3 == 0 ? log::Compression::zstd : log::Compression::none);
            auto result = log.append(bytes);
            if (!result.is_ok() || result->base_offset != Offset(next)) ++append_failures;
            next += static_cast<std::int64_t>(batch.size());
        }
    });
    for (int r = 0; r < kReaders; ++r) {
        threads.emplace_back([&, r] {
            start.arrive_and_wait();
            seen[r] = tail(log, final_end, 1 + r * 700, failures);
        });
    }
    // A reader that jumps around: random offsets below the published end, and time lookups.
    threads.emplace_back([&] {
        start.arrive_and_wait();
        std::uint64_t state = 12345;
        while (log.log_end_offset().value() < final_end) {
            const std::int64_t end = log.log_end_offset().value();
            if (end == 0) continue;
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            const std::int64_t at = static_cast<std::int64_t>((state >> 33) % end);
            auto batches = log.read(Offset(at), 1);
            if (!batches.is_ok() || batches->empty() ||
                batches->front().records.front() != expected_record(at)) {
                ++failures;
            }
            auto by_time = log.offset_for_timestamp(at);
            if (!by_time.is_ok() || *by_time != std::optional<Offset>(Offset(at))) ++failures;
        }
    });
    for (auto& t : threads) t.join();

    CHECK(append_failures == 0);
    CHECK(failures == 0);
    for (int r = 0; r < kReaders; ++r) CHECK(seen[r] == final_end);
    CHECK(log.log_end_offset() == Offset(final_end));
    CHECK(log.segments().size() > 10);
}

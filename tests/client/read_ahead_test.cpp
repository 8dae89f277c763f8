// ReadAhead, the consumer's thread that reads a partition's next batches ahead of it: a read
// done ahead must hold exactly the batches the consumer's own read of the same offset would
// (compared with a direct PartitionLog::read_raw_into), a read that fails must come back empty
// (so the consumer reads again and reports the error itself), reads dropped before they are
// taken must not disturb the others, and a ReadAhead destroyed with reads still queued must
// return. Through a Consumer: the read after two in a row is done without the consumer asking,
// a whole scan copies no byte more with reading ahead than without, and reads less than half of
// max.partition.fetch.bytes (a consumer keeping up, reads ending at a segment's end) never
// start the thread, while full reads do.
#include "client/read_ahead.hpp"

#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "meta/meta_store.hpp"
#include "store/store_core.hpp"
#include "support/fault_fs.hpp"

using namespace brook;
using namespace brook::testing;
using namespace std::chrono_literals;
using client::AheadRead;
using client::FetchedBytesRef;
using client::FetchPool;
using client::ReadAhead;

namespace {

constexpr const char* kRoot = "/store";
constexpr const char* kTopic = "events";

// An in-memory store on a FaultFileSystem (which counts the bytes read) with one topic of
// `batches` batches of 20 records each.
struct Env {
    std::shared_ptr<fs::FileSystem> memory = fs::new_memory_file_system();
    FaultFileSystem files{*memory};
    std::unique_ptr<Store> store;

    explicit Env(int batches) {
        REQUIRE(memory->create_dirs(kRoot).is_ok());
        auto core = detail::StoreCore::open_on(
            std::shared_ptr<fs::FileSystem>(&files, [](fs::FileSystem*) {}), kRoot,
            meta::new_memory_meta_store(), {});
        REQUIRE(core.is_ok());
        store = detail::StoreCore::make_store(*core);
        REQUIRE(store->create_topic(kTopic, 1, {{"segment.bytes", "20000"}}).is_ok());
        auto producer = Producer::create(*store, {{"linger.ms", "1000"}});
        REQUIRE(producer.is_ok());
        for (int b = 0; b < batches; ++b) {
            for (int i = 0; i < 20; ++i) {
                ProducerRecord record;
                record.topic = kTopic;
                record.partition = PartitionId(0);
                record.value = std::string(static_cast<std::size_t>(10 + (b * 20 + i) % 90), 'v');
                REQUIRE((*producer)->produce(record).is_ok());
            }
            REQUIRE((*producer)->flush().is_ok());
        }
    }

    std::shared_ptr<detail::PartitionState> partition() {
        auto partition = store->core()->partition(kTopic, PartitionId(0));
        REQUIRE(partition.is_ok());
        return *partition;
    }
};

// What a read holds: its batches' first offsets and bytes.
struct ReadContents {
    std::vector<std::int64_t> base_offsets;
    std::vector<std::byte> bytes;

    friend bool operator==(const ReadContents&, const ReadContents&) = default;
};

ReadContents contents_of(const log::RawBatches& raw) {
    ReadContents out;
    for (const log::BatchHeader& header : raw.headers) {
        out.base_offsets.push_back(header.base_offset.value());
    }
    const std::span<const std::byte> batches = raw.batches();
    out.bytes.assign(batches.begin(), batches.end());
    return out;
}

// The consumer's own read: from `from`, up to `max_bytes`.
ReadContents direct_read(detail::PartitionState& state, Offset from, std::size_t max_bytes) {
    log::RawBatches raw;
    REQUIRE(
        state.log->read_raw_into(from, max_bytes, log::Isolation::read_uncommitted, raw).is_ok());
    return contents_of(raw);
}

}  // namespace

TEST_CASE("reads done ahead hold what direct reads of the same offsets hold, in any order") {
    Env env(30);
    auto state = env.partition();
    auto pool = std::make_shared<FetchPool>(1 << 20);
    ReadAhead ahead;
    const std::vector<std::int64_t> starts = {0, 20, 35, 200, 599, 21, 400};
    for (const std::size_t max_bytes : {std::size_t{1}, std::size_t{3000}, std::size_t{1 << 20}}) {
        CAPTURE(max_bytes);
        std::vector<AheadRead> reads;
        for (const std::int64_t start : starts) {
            reads.push_back(ahead.start(state, Offset(start), max_bytes,
                                        log::Isolation::read_uncommitted, pool->take(kTopic)));
            REQUIRE(reads.back());
            CHECK(reads.back().from() == Offset(start));
        }
        // Taken last to first: a later read may well be done before an earlier one is taken.
        for (std::size_t i = starts.size(); i-- > 0;) {
            CAPTURE(starts[i]);
            const FetchedBytesRef bytes = ahead.take(reads[i]);
            REQUIRE(bytes);
            CHECK_FALSE(reads[i]);
            const ReadContents got = contents_of(bytes->raw);
            CHECK_FALSE(got.base_offsets.empty());
            CHECK(got == direct_read(*state, Offset(starts[i]), max_bytes));
        }
    }
}

TEST_CASE("a read that fails comes back empty, and dropped reads leave the others intact") {
    Env env(10);
    auto state = env.partition();
    auto pool = std::make_shared<FetchPool>(1 << 20);
    ReadAhead ahead;
    // Past the log end (200 records): offset_out_of_range, which the consumer reports itself.
    AheadRead past =
        ahead.start(state, Offset(500), 4096, log::Isolation::read_uncommitted, pool->take(kTopic));
    CHECK_FALSE(ahead.take(past));

    std::vector<AheadRead> reads;
    for (int i = 0; i < 8; ++i) {
        reads.push_back(ahead.start(state, Offset(i * 20), 1, log::Isolation::read_uncommitted,
                                    pool->take(kTopic)));
    }
    // Dropped, reassigned over, and kept.
    reads[1] = AheadRead();
    reads[3] = std::move(reads[4]);
    reads[6] = AheadRead();
    for (const int i : {0, 2, 3, 5, 7}) {
        CAPTURE(i);
        const std::int64_t from = i == 3 ? 80 : i * 20;
        const FetchedBytesRef bytes = ahead.take(reads[static_cast<std::size_t>(i)]);
        REQUIRE(bytes);
        CHECK(contents_of(bytes->raw) == direct_read(*state, Offset(from), 1));
    }
}

TEST_CASE("a ReadAhead destroyed with reads still queued returns, and every buffer comes back") {
    Env env(10);
    auto state = env.partition();
    auto pool = std::make_shared<FetchPool>(1 << 20);
    constexpr std::size_t kReads = 50;
    constexpr std::size_t kBuffer = 4096;
    std::vector<AheadRead> reads;
    {
        ReadAhead ahead;
        for (std::size_t i = 0; i < kReads; ++i) {
            // Each buffer has memory of its own, so that the pool's can be told from new ones.
            FetchedBytesRef bytes = pool->take(kTopic);
            bytes->raw.bytes.resize(kBuffer);
            reads.push_back(ahead.start(state, Offset(static_cast<std::int64_t>(i % 10 * 20)),
                                        1 << 20, log::Isolation::read_uncommitted,
                                        std::move(bytes)));
        }
    }
    // The handles outlive the thread; dropping them now touches nothing of it.
    reads.clear();
    detail::flush_deferred_release();
    // Read, skipped or never started, every buffer is back in the pool (50 of at least 4 KiB
    // are well within what it keeps).
    std::vector<FetchedBytesRef> again;
    std::size_t recycled = 0;
    for (std::size_t i = 0; i < kReads; ++i) {
        again.push_back(pool->take(kTopic));
        if (again.back()->raw.bytes.capacity() >= kBuffer) ++recycled;
    }
    CHECK(recycled == kReads);
}

TEST_CASE("a consumer's third read in a row is done ahead, and a scan reads no byte twice") {
    // Without reading ahead first: the bytes its first two reads copy, and its whole scan's.
    std::uint64_t two_reads = 0;
    std::uint64_t scan = 0;
    for (const bool read_ahead : {false, true}) {
        CAPTURE(read_ahead);
        Env env(40);
        auto consumer =
            Consumer::create(*env.store, {{"auto.offset.reset", "earliest"},
                                          {"max.partition.fetch.bytes", "1"},
                                          {"enable.read.ahead", read_ahead ? "true" : "false"}});
        REQUIRE(consumer.is_ok());
        REQUIRE((*consumer)->assign({{kTopic, PartitionId(0), Offset(0)}}).is_ok());
        env.files.bytes_read = 0;
        // One batch per read: the first read, then the second, which continues it.
        CHECK((*consumer)->consume(20, 0ms).size() == 20);
        CHECK((*consumer)->consume(20, 0ms).size() == 20);
        if (read_ahead) {
            // The third batch is read without another call (perhaps already): wait (yielding)
            // until more than the two reads' bytes are read.
            const auto give_up = std::chrono::steady_clock::now() + 60s;
            while (env.files.bytes_read.load() <= two_reads &&
                   std::chrono::steady_clock::now() < give_up) {
                std::this_thread::yield();
            }
            CHECK(env.files.bytes_read.load() > two_reads);
        } else {
            two_reads = env.files.bytes_read.load();
            REQUIRE(two_reads > 0);
        }
        std::int64_t next = 40;
        for (;;) {
            const std::vector<Message> got = (*consumer)->consume(7, 0ms);
            if (got.empty()) break;
            for (const Message& m : got) CHECK(m.offset() == Offset(next++));
        }
        CHECK(next == 800);
        if (read_ahead) {
            CHECK(env.files.bytes_read.load() == scan);
        } else {
            scan = env.files.bytes_read.load();
        }
    }
}

namespace {

// The threads this process runs now (Linux: the entries of /proc/self/task).
std::size_t thread_count() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/task")) {
        ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("reads less than half full start no read-ahead thread; full reads start one") {
    Env env(0);
    REQUIRE(env.store->create_topic("small", 1, {{"segment.bytes", "2000"}}).is_ok());
    auto producer = Producer::create(*env.store, {{"linger.ms", "0"}});
    REQUIRE(producer.is_ok());
    const auto produce_three = [&](const std::string& topic) {
        for (int i = 0; i < 3; ++i) {
            ProducerRecord record;
            record.topic = topic;
            record.partition = PartitionId(0);
            record.value = std::string(100, 'v');
            REQUIRE((*producer)->produce(record).is_ok());
        }
        REQUIRE((*producer)->flush().is_ok());
    };
    const auto consumer_of = [&](const std::string& topic, const char* fetch_bytes) {
        auto consumer = Consumer::create(*env.store, {{"auto.offset.reset", "earliest"},
                                                      {"max.partition.fetch.bytes", fetch_bytes}});
        REQUIRE(consumer.is_ok());
        REQUIRE((*consumer)->assign({{topic, PartitionId(0), Offset(0)}}).is_ok());
        return std::move(consumer).value();
    };
    // Reads every record of `consumer`, 10 per call, checking the offsets; returns the count.
    const auto scan = [](Consumer& consumer) {
        std::int64_t next = 0;
        for (;;) {
            const std::vector<Message> got = consumer.consume(10, 0ms);
            if (got.empty()) return next;
            for (const Message& m : got) CHECK(m.offset() == Offset(next++));
        }
    };
    const std::size_t before = thread_count();

    // A consumer keeping up: each read finds the few records just produced.
    auto follower = consumer_of(kTopic, "1048576");
    std::int64_t next = 0;
    for (int round = 0; round < 50; ++round) {
        produce_three(kTopic);
        for (const Message& m : follower->consume(100, 0ms)) CHECK(m.offset() == Offset(next++));
    }
    CHECK(next == 150);
    // Reads in a row that each end at a segment's end (2000 bytes, far below half of 1 MiB),
    // with more segments after them.
    for (int round = 0; round < 50; ++round) produce_three("small");
    auto segment_reader = consumer_of("small", "1048576");
    CHECK(scan(*segment_reader) == 150);
    CHECK(thread_count() == before);

    // Full reads of the same segments (at least 1500 of 3000 bytes) start the consumer's thread.
    auto scanner = consumer_of("small", "3000");
    CHECK(scan(*scanner) == 150);
    CHECK(thread_count() == before + 1);
}

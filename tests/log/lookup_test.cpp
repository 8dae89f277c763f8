// Index lookups checked against brute force. Randomized logs with many roll points, uneven
// batches, optional compression and timestamps that jump backwards are read at every offset and
// searched by every timestamp, and each answer is compared with a scan of a model of the log;
// the same holds after the indexes are sealed and loaded back from disk. A separate case counts
// the reads a lookup makes, to show that it starts from an index entry and not from the start of
// the segment, and another the bytes a sequential scan copies, to show that reads end at batch
// starts the index knows instead of inside a batch that the next read copies again.
#include <algorithm>
#include <brook/clock.hpp>
#include <limits>
#include <set>

#include "support/fault_fs.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// What the log should hold: every record with its offset, and each batch's offset range.
struct Model {
    std::vector<log::Record> records;
    std::vector<std::pair<Offset, Offset>> batches;
    std::vector<std::size_t> batch_of;  // index into `batches`, per offset

    void add(const std::vector<log::Record>& batch, Offset base) {
        const auto placed = with_offsets(batch, base);
        batches.emplace_back(base, placed.back().offset);
        for (const auto& r : placed) {
            records.push_back(r);
            batch_of.push_back(batches.size() - 1);
        }
    }

    std::optional<Offset> first_at_or_after(std::int64_t timestamp) const {
        for (const auto& r : records) {
            if (r.timestamp >= timestamp) return r.offset;
        }
        return std::nullopt;
    }
};

class RandomLog {
  public:
    explicit RandomLog(std::uint64_t seed) : rng_(seed) {}

    std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
    }

    // A random walk that mostly moves forward and now and then jumps back.
    std::int64_t next_timestamp() {
        if (uniform(0, 14) == 0) {
            timestamp_ -= uniform(1, 3000);
        } else {
            timestamp_ += uniform(-20, 60);
        }
        return timestamp_;
    }

    std::optional<std::string> nullable_bytes() {
        if (uniform(0, 7) == 0) return std::nullopt;
        std::string s(static_cast<std::size_t>(uniform(0, 200)), '\0');
        // A small alphabet keeps the zstd batches compressible.
        for (auto& c : s) c = static_cast<char>('a' + uniform(0, 3));
        return s;
    }

    std::vector<log::Record> batch() {
        std::vector<log::Record> records(static_cast<std::size_t>(uniform(1, 5)));
        for (auto& r : records) {
            r.key = nullable_bytes();
            r.value = nullable_bytes();
            if (uniform(0, 3) == 0) {
                for (std::int64_t h = uniform(1, 3); h > 0; --h) {
                    r.headers.push_back({"h" + std::to_string(h), nullable_bytes()});
                }
            }
            r.timestamp = next_timestamp();
        }
        return records;
    }

    log::Compression compression() {
        return uniform(0, 2) == 0 ? log::Compression::zstd : log::Compression::none;
    }

  private:
    std::mt19937_64 rng_;
    std::int64_t timestamp_ = 1'000'000;
};

void append_random(log::PartitionLog& log, RandomLog& random, Model& model, int batches) {
    for (int b = 0; b < batches; ++b) {
        const auto records = random.batch();
        auto bytes = encode(records, random.compression());
        auto result = log.append(bytes);
        REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
        REQUIRE(result->base_offset == Offset(static_cast<std::int64_t>(model.records.size())));
        model.add(records, result->base_offset);
    }
}

// Every offset read alone, whole-log reads at several sizes, and offset_for_timestamp for every
// distinct timestamp, its neighbours and values outside the log's range.
void check_against_model(const log::PartitionLog& log, const Model& model) {
    REQUIRE(log.log_end_offset() == Offset(static_cast<std::int64_t>(model.records.size())));
    for (const std::size_t max_bytes : {std::size_t{1}, std::size_t{700}, std::size_t{1} << 20}) {
        CAPTURE(max_bytes);
        CHECK(read_all(log, Offset(0), max_bytes) == model.records);
    }

    for (std::size_t o = 0; o < model.records.size(); ++o) {
        CAPTURE(o);
        auto read = log.read(Offset(static_cast<std::int64_t>(o)), 1);
        REQUIRE_MESSAGE(read.is_ok(), read.status().to_string());
        REQUIRE(read->size() == 1);
        const auto& batch = read->front();
        const auto [base, last] = model.batches[model.batch_of[o]];
        CHECK(batch.header.base_offset == base);
        CHECK(batch.header.last_offset() == last);
        const std::vector<log::Record> expected(
            model.records.begin() + static_cast<std::ptrdiff_t>(o),
            model.records.begin() + static_cast<std::ptrdiff_t>(last.value() + 1));
        CHECK(batch.records == expected);
    }

    std::set<std::int64_t> targets = {std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max()};
    for (const auto& r : model.records) {
        targets.insert({r.timestamp - 1, r.timestamp, r.timestamp + 1});
    }
    const auto [lowest, highest] = std::minmax_element(
        model.records.begin(), model.records.end(),
        [](const log::Record& a, const log::Record& b) { return a.timestamp < b.timestamp; });
    targets.insert({lowest->timestamp - 1000, highest->timestamp + 1000});
    for (const std::int64_t target : targets) {
        CAPTURE(target);
        auto found = log.offset_for_timestamp(target);
        REQUIRE_MESSAGE(found.is_ok(), found.status().to_string());
        CHECK(*found == model.first_at_or_after(target));
    }
}

}  // namespace

TEST_CASE_TEMPLATE("lookups match a brute-force scan over randomized logs with many roll points",
                   Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(1'000'000);
    // Each roll costs several fsyncs on the POSIX file system, so the seeds vary with the
    // interval instead of multiplying the configs.
    const std::pair<std::uint64_t, std::int64_t> configs[] = {{11, 0},   {22, 1},    {33, 64},
                                                              {44, 500}, {55, 4096}, {66, 64}};
    for (const auto& [seed, interval] : configs) {
        RandomLog random(seed);
        log::LogConfig config;
        config.segment_bytes = random.uniform(300, 2000);
        config.index_interval_bytes = interval;
        // Room for more entries than a segment of these sizes needs, so only size rolls.
        config.segment_index_bytes = 1024;
        CAPTURE(seed);
        CAPTURE(interval);
        CAPTURE(config.segment_bytes);
        const std::string dir =
            env.root() + "/p-" + std::to_string(seed) + "-" + std::to_string(interval);

        Model model;
        {
            auto log = open_log(env.fs(), dir, config, clock);
            append_random(*log, random, model, 120);
            REQUIRE(log->segments().size() >= 20);
            check_against_model(*log, model);
            REQUIRE(log->close().is_ok());
        }
        // The sealed indexes come back from disk, so they must give the same answers; the
        // reopened active segment then takes more appends.
        auto log = open_log(env.fs(), dir, config, clock);
        CHECK(log->recovery_report().clean_shutdown);
        check_against_model(*log, model);
        append_random(*log, random, model, 30);
        check_against_model(*log, model);
    }
}

TEST_CASE_TEMPLATE("a lookup scans from an index entry, not from the segment start", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    FaultFileSystem counting(env.fs());
    ManualClock clock(0);
    log::LogConfig config;
    config.index_interval_bytes = 256;
    const std::string dir = env.root() + "/p";
    constexpr int kBatches = 2000;

    Model model;
    std::size_t smallest = std::numeric_limits<std::size_t>::max();
    {
        auto log = open_log(counting, dir, config, clock);
        for (int b = 0; b < kBatches; ++b) {
            std::vector<log::Record> batch = {make_record(b, 5'000 + 10 * b)};
            if (b % 3 == 0) batch.push_back(make_record(b, 5'000 + 10 * b + 5));
            smallest = std::min(smallest, encode(batch).size());
            model.add(batch, append(*log, batch).base_offset);
        }
        REQUIRE(log->segments().size() == 1);
        REQUIRE(log->close().is_ok());
    }
    const auto interval = static_cast<std::size_t>(config.index_interval_bytes);
    const std::uint64_t bound = 2 * ((interval + smallest - 1) / smallest) + 4;
    CAPTURE(smallest);
    CAPTURE(bound);
    REQUIRE(bound * 50 < kBatches);

    std::mt19937_64 rng(7);
    const auto n = static_cast<std::int64_t>(model.records.size());
    std::vector<std::int64_t> offsets = {0, n - 1, n - 2, n - 3, n / 2};
    for (int i = 0; i < 40; ++i) {
        offsets.push_back(std::uniform_int_distribution<std::int64_t>(0, n - 1)(rng));
    }

    // First with the active segment's indexes reopened from the clean shutdown, then with the
    // indexes rebuilt by recovery after the clean-shutdown marker is lost.
    for (const bool crash : {false, true}) {
        CAPTURE(crash);
        if (crash) REQUIRE(env.fs().remove_file(dir + "/clean-shutdown").is_ok());
        auto log = open_log(counting, dir, config, clock);
        CHECK(log->recovery_report().clean_shutdown == !crash);
        for (const std::int64_t o : offsets) {
            CAPTURE(o);
            const std::uint64_t before = counting.reads.load();
            auto read = log->read(Offset(o), 1);
            const std::uint64_t reads = counting.reads.load() - before;
            REQUIRE(read.is_ok());
            REQUIRE(read->size() == 1);
            CHECK(read->front().records.front() == model.records[static_cast<std::size_t>(o)]);
            CHECK(reads <= bound);
        }
        for (const std::int64_t o : offsets) {
            const auto& record = model.records[static_cast<std::size_t>(o)];
            for (const std::int64_t target : {record.timestamp, record.timestamp + 1}) {
                CAPTURE(target);
                const std::uint64_t before = counting.reads.load();
                auto found = log->offset_for_timestamp(target);
                const std::uint64_t reads = counting.reads.load() - before;
                REQUIRE(found.is_ok());
                CHECK(*found == model.first_at_or_after(target));
                CHECK(reads <= bound);
            }
        }
        REQUIRE(log->close().is_ok());
    }
}

TEST_CASE_TEMPLATE("a sequential scan copies each byte of a segment once", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    FaultFileSystem counting(env.fs());
    ManualClock clock(0);
    const log::LogConfig config;  // index.interval.bytes 4096, segment.bytes 1 GiB
    const std::string dir = env.root() + "/p";

    // Batches of 1 to 40 records of 20 to 400 bytes: from under 100 bytes to about 16 KiB, so
    // some batches have no index entry of their own and most reads would end inside one.
    Model model;
    RandomLog random(11);
    std::int64_t n = 0;
    {
        auto log = open_log(counting, dir, config, clock);
        for (int b = 0; b < 400; ++b) {
            std::vector<log::Record> batch;
            const std::int64_t count = random.uniform(1, 40);
            for (std::int64_t i = 0; i < count; ++i, ++n) {
                log::Record r = make_record(n, 1'000 + n);
                r.value =
                    std::string(static_cast<std::size_t>(random.uniform(20, 400)), 'a' + n % 26);
                batch.push_back(std::move(r));
            }
            model.add(batch, append(*log, batch).base_offset);
        }
        REQUIRE(log->segments().size() == 1);
        REQUIRE(log->close().is_ok());
    }
    // Reopened, so the segment's in-memory copies of its newest batches are gone and every
    // read copies from the file.
    auto log = open_log(counting, dir, config, clock);
    const std::uint64_t segment_bytes = log->segments().front().size_bytes;

    for (const std::size_t max_bytes : {std::size_t{32 * 1024}, std::size_t{50'000}}) {
        CAPTURE(max_bytes);
        const std::uint64_t bytes_before = counting.bytes_read.load();
        std::uint64_t reads = 0;
        std::vector<log::Record> scanned;
        Offset from(0);
        while (from < log->log_end_offset()) {
            auto batches = log->read(from, max_bytes);
            REQUIRE_MESSAGE(batches.is_ok(), batches.status().to_string());
            REQUIRE(!batches->empty());
            ++reads;
            for (auto& batch : *batches) {
                for (auto& r : batch.records) scanned.push_back(std::move(r));
            }
            from = scanned.back().offset + 1;
        }
        REQUIRE(scanned.size() == model.records.size());
        for (std::size_t i = 0; i < scanned.size(); ++i) {
            CAPTURE(i);
            REQUIRE(scanned[i] == model.records[i]);
        }
        // Every byte of the segment once, and per read the batch header that locates its start.
        const std::uint64_t copied = counting.bytes_read.load() - bytes_before;
        CAPTURE(reads);
        CHECK(copied >= segment_bytes);
        CHECK(copied <= segment_bytes + reads * log::format::kBatchHeaderSize);
    }
}

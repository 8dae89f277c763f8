// Compaction against a brute-force model: random keyed and tombstone workloads with random
// rolls, codecs and headers; after every pass the log must equal the model (the latest record
// per key below the cleaned offset, tombstones inside delete.retention.ms, everything else
// untouched, offsets preserved). Also: the dirty ratio and lag settings that decide whether a
// pass runs, a key map budget far too small for the dirty range, and the key map itself.
#include <brook/clock.hpp>
#include <random>
#include <set>

#include "cleaner/compactor.hpp"
#include "cleaner/offset_map.hpp"
#include "compaction_model.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

log::LogConfig small_config() {
    log::LogConfig config;
    config.segment_index_bytes = 4096;
    config.index_interval_bytes = 64;
    return config;
}

// Appends `records` as one batch with `compression` and adds them, with offsets, to `model`.
// @return the records with their offsets.
std::vector<log::Record> append_to(log::PartitionLog& log, CompactionModel& model,
                                   std::vector<log::Record> records, log::Compression compression) {
    auto bytes = encode(records, compression);
    auto appended = log.append(bytes);
    REQUIRE_MESSAGE(appended.is_ok(), appended.status().to_string());
    records = with_offsets(std::move(records), appended->base_offset);
    model.append(records);
    return records;
}

cleaner::CompactionResult run_pass(log::PartitionLog& log, cleaner::CleanerState& state,
                                   const cleaner::CompactionConfig& config, std::int64_t now,
                                   bool force = true) {
    auto result = cleaner::compact(log, state, config, now, force);
    REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
    return *result;
}

// A random record over `keys` keys: a tombstone with probability 1/5, sometimes with headers.
log::Record random_record(std::mt19937_64& rng, int keys, std::int64_t now) {
    log::Record r;
    r.key = "key-" + std::to_string(rng() % keys);
    if (rng() % 5 != 0) r.value = "value-" + std::to_string(rng() % 100000);
    if (rng() % 3 == 0) r.headers.push_back({"h", std::to_string(rng() % 10)});
    if (rng() % 7 == 0) r.headers.push_back({"null-valued", std::nullopt});
    r.timestamp = now;
    return r;
}

}  // namespace

TEST_CASE_TEMPLATE("compaction equals the brute-force model after every pass", Env, MemoryEnv,
                   PosixEnv) {
    constexpr std::int64_t kRetention = 10'000;
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        CAPTURE(seed);
        Env env;
        std::mt19937_64 rng(seed);
        ManualClock clock(1'000'000);
        const std::string dir = env.root() + "/p";
        auto log = open_log(env.fs(), dir, small_config(), clock);
        cleaner::CleanerState state;
        cleaner::CompactionConfig config;
        config.delete_retention_ms = kRetention;
        CompactionModel model(kRetention);
        std::vector<log::Record> everything;
        const int keys = 1 + static_cast<int>(rng() % 40);
        int passes = 0;
        for (int step = 0; step < 300; ++step) {
            std::vector<log::Record> batch(1 + rng() % 6);
            for (auto& r : batch) r = random_record(rng, keys, clock.now_ms());
            const auto compression =
                rng() % 3 == 0 ? log::Compression::zstd : log::Compression::none;
            const auto placed = append_to(*log, model, batch, compression);
            everything.insert(everything.end(), placed.begin(), placed.end());
            if (rng() % 4 == 0) REQUIRE(log->roll_if_due(true).is_ok());
            clock.advance_ms(static_cast<std::int64_t>(rng() % 2'000));
            if (rng() % 10 == 0 && passes < 40) {
                ++passes;
                const auto result = run_pass(*log, state, config, clock.now_ms());
                // With a large key map a pass reaches the active segment.
                CHECK(result.cleaned_to == log->segments().back().base_offset);
                model.pass(result.cleaned_to, clock.now_ms());
                REQUIRE(read_all(*log) == model.records());
            }
            if (rng() % 60 == 0) {
                log.reset();
                log = open_log(env.fs(), dir, small_config(), clock);
                state = cleaner::CleanerState();
                model.forget();
                REQUIRE(read_all(*log) == model.records());
            }
        }
        // Compacting everything, long after every tombstone was seen, leaves exactly the
        // latest live value of each key, at its original offset.
        REQUIRE(log->roll_if_due(true).is_ok());
        const auto full = run_pass(*log, state, config, clock.now_ms());
        model.pass(full.cleaned_to, clock.now_ms());
        clock.advance_ms(kRetention);
        log::Record final_record = random_record(rng, keys, clock.now_ms());
        final_record.value = "final";
        everything.push_back(
            append_to(*log, model, {final_record}, log::Compression::none).front());
        REQUIRE(log->roll_if_due(true).is_ok());
        const auto last = run_pass(*log, state, config, clock.now_ms());
        model.pass(last.cleaned_to, clock.now_ms());
        const auto records = read_all(*log);
        REQUIRE(records == model.records());
        std::map<std::string, std::optional<std::string>> live;
        for (const auto& [key, value] : CompactionModel::latest_values(everything)) {
            if (value) live[key] = value;
        }
        std::map<std::string, std::optional<std::string>> got;
        for (const auto& r : records) {
            CHECK(!got.contains(*r.key));
            CHECK(r.value.has_value());
            got[*r.key] = r.value;
        }
        CHECK(got == live);
        // Offsets strictly increase and each survivor is the original record.
        std::map<std::int64_t, log::Record> original;
        for (const auto& r : everything) original[r.offset.value()] = r;
        for (const auto& r : records) CHECK(original.at(r.offset.value()) == r);
    }
}

TEST_CASE("tombstones stay for delete.retention.ms after a pass first sees them") {
    MemoryEnv env;
    ManualClock clock(0);
    auto log = open_log(env.fs(), env.root() + "/p", small_config(), clock);
    cleaner::CleanerState state;
    cleaner::CompactionConfig config;
    config.delete_retention_ms = 1'000;
    log::Record put = make_record(0, 0);
    put.key = "k";
    log::Record del = put;
    del.value.reset();
    append(*log, {put});
    append(*log, {del});
    REQUIRE(log->roll_if_due(true).is_ok());

    // The first pass removes the value the tombstone supersedes and keeps the tombstone.
    clock.set_ms(5'000);
    run_pass(*log, state, config, clock.now_ms());
    auto records = read_all(*log);
    REQUIRE(records.size() == 1);
    CHECK(records[0].offset == Offset(1));
    CHECK(!records[0].value);
    // Still there just inside the window, gone at its end.
    clock.set_ms(5'999);
    run_pass(*log, state, config, clock.now_ms());
    CHECK(read_all(*log).size() == 1);
    clock.set_ms(6'000);
    run_pass(*log, state, config, clock.now_ms());
    // Nothing is left to read, and the offsets stay where they were.
    const auto rest = log->read(Offset(0), 1 << 20);
    REQUIRE(rest.is_ok());
    CHECK(rest->empty());
    CHECK(log->log_end_offset() == Offset(2));
}

TEST_CASE("compressed batches are recompressed with their codec and keep their headers") {
    MemoryEnv env;
    ManualClock clock(0);
    auto log = open_log(env.fs(), env.root() + "/p", small_config(), clock);
    std::vector<log::Record> records;
    for (int i = 0; i < 20; ++i) {
        log::Record r = make_record(i, 100 + i);
        r.key = "k" + std::to_string(i % 4);
        r.value = std::string(200, static_cast<char>('a' + i));
        r.headers = {{"trace", std::to_string(i)}, {"empty", std::nullopt}};
        records.push_back(r);
    }
    auto bytes = encode(records, log::Compression::zstd);
    REQUIRE(log->append(bytes).is_ok());
    REQUIRE(log->roll_if_due(true).is_ok());
    cleaner::CleanerState state;
    run_pass(*log, state, {}, 1'000);
    auto batches = log->read(Offset(0), 1 << 20);
    REQUIRE(batches.is_ok());
    REQUIRE(batches->size() == 1);
    CHECK(batches->front().header.compression() == log::Compression::zstd);
    const auto expected = with_offsets(records, Offset(0));
    CHECK(batches->front().records == std::vector<log::Record>(expected.end() - 4, expected.end()));
    CHECK(log->segments().front().size_bytes < bytes.size());
}

TEST_CASE("a pass runs when the dirty ratio exceeds the minimum or max lag is passed") {
    MemoryEnv env;
    ManualClock clock(0);
    auto log = open_log(env.fs(), env.root() + "/p", small_config(), clock);
    cleaner::CleanerState state;
    cleaner::CompactionConfig config;
    config.min_cleanable_dirty_ratio = 0.5;
    config.min_compaction_lag_ms = 100;
    // Four equal segments of distinct keys: nothing to remove, but everything is dirty.
    for (int s = 0; s < 4; ++s) {
        append(*log, {make_record(s, 0)});
        REQUIRE(log->roll_if_due(true).is_ok());
    }
    // The newest segments are younger than min.compaction.lag.ms: not cleanable yet.
    append(*log, {make_record(10, 1'000)});
    REQUIRE(log->roll_if_due(true).is_ok());
    auto m = cleaner::measure(*log, state.first_dirty(), config, 1'050);
    REQUIRE(m.is_ok());
    CHECK(m->first_uncleanable == Offset(4));
    CHECK(m->dirty_ratio == doctest::Approx(1.0));
    CHECK(m->cleanable);
    auto result = run_pass(*log, state, config, 1'050, false);
    CHECK(result.ran);
    CHECK(result.cleaned_to == Offset(4));
    // The four small segments merged into one.
    CHECK(log->segments().size() == 3);

    // One new dirty segment of the same size as the clean one: ratio 0.5, not above it.
    append(*log, {make_record(11, 1'000)});
    REQUIRE(log->roll_if_due(true).is_ok());
    m = cleaner::measure(*log, state.first_dirty(), config, 2'000);
    REQUIRE(m.is_ok());
    CHECK(m->first_dirty == Offset(4));
    CHECK(m->dirty_bytes > 0);
    CHECK(m->dirty_ratio < 0.5);
    CHECK(!m->cleanable);
    CHECK(!run_pass(*log, state, config, 2'000, false).ran);
    // max.compaction.lag.ms makes it cleanable once the oldest dirty record is old enough.
    config.max_compaction_lag_ms = 5'000;
    m = cleaner::measure(*log, state.first_dirty(), config, 5'999);
    CHECK(!m->cleanable);
    m = cleaner::measure(*log, state.first_dirty(), config, 6'001);
    CHECK(m->max_lag_exceeded);
    CHECK(m->cleanable);
    CHECK(run_pass(*log, state, config, 6'001, false).ran);
    CHECK(state.first_dirty() == Offset(6));
}

TEST_CASE("a key map too small for the dirty range cleans in several passes") {
    MemoryEnv env;
    ManualClock clock(0);
    auto config = small_config();
    config.segment_bytes = 64 * 1024;
    auto log = open_log(env.fs(), env.root() + "/p", config, clock);
    cleaner::CleanerState state;
    cleaner::CompactionConfig cleaner_config;
    cleaner_config.dedupe_buffer_bytes = 0;  // the smallest map there is
    CompactionModel model(cleaner_config.delete_retention_ms);
    const std::size_t capacity = cleaner::OffsetMap(0).capacity();
    // Three rounds over 2.5 map-fulls of keys.
    const int keys = static_cast<int>(capacity * 5 / 2);
    for (int round = 0; round < 3; ++round) {
        for (int k = 0; k < keys; k += 10) {
            std::vector<log::Record> batch;
            for (int j = k; j < std::min(keys, k + 10); ++j) {
                log::Record r = make_record(j, round);
                r.value = "round-" + std::to_string(round);
                batch.push_back(r);
            }
            append_to(*log, model, batch, log::Compression::none);
        }
    }
    REQUIRE(log->roll_if_due(true).is_ok());
    const Offset end = log->log_end_offset();
    Offset previous = Offset(0);
    int passes = 0;
    while (state.first_dirty() < end) {
        REQUIRE(++passes < 20);
        const auto result = run_pass(*log, state, cleaner_config, 10);
        CHECK(result.cleaned_to.value() > previous.value());
        CHECK(result.cleaned_to.value() <= end.value());
        previous = result.cleaned_to;
        model.pass(result.cleaned_to, 10);
        REQUIRE(read_all(*log) == model.records());
    }
    CHECK(passes >= 7);
    // One pass more with everything clean and the same map: every key once, the last round.
    const auto records = read_all(*log);
    CHECK(records.size() == static_cast<std::size_t>(keys));
    std::set<std::string> seen;
    for (const auto& r : records) {
        CHECK(seen.insert(*r.key).second);
        CHECK(r.value == "round-2");
    }
}

TEST_CASE("the offset map keeps the latest offset per key within its budget") {
    cleaner::OffsetMap map(24 * 2000);
    CHECK(map.capacity() == 1800);
    std::map<std::string, std::int64_t> model;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 5000; ++i) {
        const std::string key = "k" + std::to_string(rng() % 1500);
        REQUIRE(map.put(key, Offset(i)));
        model[key] = i;
    }
    for (const auto& [key, offset] : model) CHECK(map.get(key) == Offset(offset));
    CHECK(!map.get("absent"));
    for (int i = 0; map.size() < map.capacity(); ++i)
        REQUIRE(map.put("new" + std::to_string(i), Offset(i)));
    CHECK(!map.put("one-too-many", Offset(1)));
    CHECK(!map.get("one-too-many"));
    CHECK(map.put("k1", Offset(99'999)));  // an existing key still updates
    CHECK(map.get("k1") == Offset(99'999));
}

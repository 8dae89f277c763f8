// Segment rolls: by size, by time (with an injected clock) and when an index is full. A model of
// the roll rule and of the index entries each batch adds predicts every segment's base offset,
// size and index file sizes, and the test compares the log's segments and files with it. It
// also checks the segment file names, the trimming of sealed indexes, and that the recovery
// point lets a crashed log validate only its active segment.
#include <algorithm>
#include <brook/clock.hpp>
#include <map>
#include <set>

#include "log/checkpoint.hpp"
#include "log/format.hpp"
#include "log/segment.hpp"
#include "support/fs_util.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// Small indexes: the in-memory file system allocates every preallocated index in full.
log::LogConfig small_config() {
    log::LogConfig config;
    config.segment_index_bytes = 4096;
    return config;
}

log::Record sized_record(std::int64_t n, std::int64_t timestamp, std::size_t value_bytes) {
    log::Record r = make_record(n, timestamp);
    r.value = std::string(value_bytes, 'x');
    return r;
}

std::size_t capacity(std::int64_t index_bytes, std::size_t entry_size) {
    return (static_cast<std::size_t>(index_bytes) - log::format::kIndexHeaderSize) / entry_size;
}

enum class Roll { none, size, time, offset_index, time_index };

// One segment as the model sees it: its size, its index entries and its timestamps.
struct SegmentModel {
    Offset base;
    std::uint64_t size = 0;
    std::size_t offset_entries = 0;
    std::size_t time_entries = 0;
    std::optional<std::int64_t> last_time_entry;
    std::optional<std::int64_t> max_timestamp;
    std::optional<std::int64_t> rolling_timestamp;  // max timestamp of the first batch
    std::uint64_t bytes_since_entry = 0;
    bool sealed = false;

    static SegmentModel starting_at(Offset base) {
        SegmentModel s;
        s.base = base;
        return s;
    }
};

// A brute-force model of where batches land. A batch rolls the log when the active segment is
// non-empty and the batch would pass segment.bytes, the batch's max timestamp is more than
// segment.ms past the first batch's (Kafka's rule), or either index would lack room (the time index
// keeps one entry spare for the final entry written at seal). Past index.interval.bytes of log
// since the last entry, a batch not at position 0 adds an offset index entry, and a time index
// entry when the segment's max timestamp grew since the last one.
struct LogModel {
    log::LogConfig config;
    std::vector<SegmentModel> segments = {SegmentModel::starting_at(Offset(0))};
    std::vector<log::Record> records;
    std::map<Roll, int> rolls;
    // Producer-state snapshots: one at each roll and one at each close.
    std::set<Offset> snapshots;

    Offset end() const { return Offset(static_cast<std::int64_t>(records.size())); }

    Roll roll_for(std::size_t bytes, std::int64_t batch_max) const {
        const SegmentModel& s = segments.back();
        if (s.size == 0) return Roll::none;
        if (s.size + bytes > static_cast<std::uint64_t>(config.segment_bytes)) return Roll::size;
        if (s.rolling_timestamp && batch_max - *s.rolling_timestamp > config.segment_ms) {
            return Roll::time;
        }
        const auto index_bytes = config.segment_index_bytes;
        if (s.offset_entries + 1 > capacity(index_bytes, log::format::kOffsetIndexEntrySize)) {
            return Roll::offset_index;
        }
        if (s.time_entries + 2 > capacity(index_bytes, log::format::kTimeIndexEntrySize)) {
            return Roll::time_index;
        }
        return Roll::none;
    }

    static void seal(SegmentModel& s) {
        if (s.max_timestamp && (!s.last_time_entry || *s.max_timestamp > *s.last_time_entry)) {
            ++s.time_entries;
            s.last_time_entry = s.max_timestamp;
        }
        s.sealed = true;
    }

    // Records the batch as appended and returns what rolled the log for it.
    Roll add(const std::vector<log::Record>& batch, std::size_t bytes) {
        std::int64_t batch_max = batch.front().timestamp;
        for (const auto& r : batch) batch_max = std::max(batch_max, r.timestamp);
        const Roll roll = roll_for(bytes, batch_max);
        if (roll != Roll::none) {
            seal(segments.back());
            segments.push_back(SegmentModel::starting_at(end()));
            snapshots.insert(end());
            ++rolls[roll];
        }
        SegmentModel& s = segments.back();
        if (!s.max_timestamp || batch_max > *s.max_timestamp) s.max_timestamp = batch_max;
        if (!s.rolling_timestamp) s.rolling_timestamp = batch_max;
        if (s.size > 0 &&
            s.bytes_since_entry >= static_cast<std::uint64_t>(config.index_interval_bytes)) {
            ++s.offset_entries;
            if (!s.last_time_entry || *s.max_timestamp > *s.last_time_entry) {
                ++s.time_entries;
                s.last_time_entry = s.max_timestamp;
            }
            s.bytes_since_entry = 0;
        }
        s.bytes_since_entry += bytes;
        s.size += bytes;
        const auto placed = with_offsets(batch, end());
        records.insert(records.end(), placed.begin(), placed.end());
        return roll;
    }

    // A clean close seals the active segment; a reopen unseals it with the same entries.
    void close() {
        seal(segments.back());
        snapshots.insert(end());
    }
    void reopen() { segments.back().sealed = false; }

    std::optional<Offset> first_at_or_after(std::int64_t timestamp) const {
        for (const auto& r : records) {
            if (r.timestamp >= timestamp) return r.offset;
        }
        return std::nullopt;
    }
};

// Appends `batch` at the clock's time to both the log and the model, and returns the roll the
// model predicts.
Roll append_both(log::PartitionLog& log, LogModel& model, const std::vector<log::Record>& batch) {
    auto bytes = encode(batch);
    const Roll roll = model.add(batch, bytes.size());
    auto result = log.append(bytes);
    REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
    REQUIRE(result->last_offset == model.end() - 1);
    return roll;
}

void check_segments(const log::PartitionLog& log, const LogModel& model) {
    const auto segments = log.segments();
    REQUIRE(segments.size() == model.segments.size());
    for (std::size_t i = 0; i < segments.size(); ++i) {
        CAPTURE(i);
        CHECK(segments[i].base_offset == model.segments[i].base);
        CHECK(segments[i].size_bytes == model.segments[i].size);
        CHECK(segments[i].max_timestamp == model.segments[i].max_timestamp);
    }
    CHECK(log.log_end_offset() == model.end());
}

void check_contents(const log::PartitionLog& log, const LogModel& model) {
    CHECK(read_all(log) == model.records);
    CHECK(read_all(log, Offset(0), 1) == model.records);
    std::set<std::int64_t> targets;
    for (const auto& r : model.records)
        targets.insert({r.timestamp - 1, r.timestamp, r.timestamp + 1});
    for (const std::int64_t target : targets) {
        CAPTURE(target);
        auto found = log.offset_for_timestamp(target);
        REQUIRE(found.is_ok());
        CHECK(*found == model.first_at_or_after(target));
    }
}

std::uint32_t load_u32(const std::vector<std::byte>& bytes, std::size_t pos) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v |= std::to_integer<std::uint32_t>(bytes[pos + i]) << (8 * i);
    return v;
}

// Sealed index files are trimmed to their entries, which the header counts; an unsealed one is
// preallocated to segment.index.bytes (rounded down to whole entries).
void check_index_files(fs::FileSystem& fs, const std::string& dir, const LogModel& model) {
    const auto index_bytes = model.config.segment_index_bytes;
    for (const auto& s : model.segments) {
        CAPTURE(s.base.value());
        CAPTURE(s.sealed);
        const std::pair<std::string_view, std::pair<std::size_t, std::size_t>> kinds[] = {
            {log::format::kOffsetIndexSuffix,
             {log::format::kOffsetIndexEntrySize, s.offset_entries}},
            {log::format::kTimeIndexSuffix, {log::format::kTimeIndexEntrySize, s.time_entries}},
        };
        for (const auto& [suffix, sizes] : kinds) {
            CAPTURE(suffix);
            const auto [entry_size, entries] = sizes;
            const std::string path = fs::join_path(dir, log::Segment::file_name(s.base, suffix));
            const auto bytes = read_file(fs, path);
            REQUIRE(bytes.size() >= log::format::kIndexHeaderSize);
            const bool sealed_flag = (std::to_integer<int>(bytes[6]) & 1) != 0;
            CHECK(sealed_flag == s.sealed);
            if (s.sealed) {
                CHECK(bytes.size() == log::format::kIndexHeaderSize + entries * entry_size);
                CHECK(bytes.size() <= static_cast<std::size_t>(index_bytes));
                CHECK(load_u32(bytes, 16) == entries);
            } else {
                CHECK(bytes.size() == log::format::kIndexHeaderSize +
                                          capacity(index_bytes, entry_size) * entry_size);
            }
        }
    }
}

std::vector<std::string> expected_names(const LogModel& model, bool recovery_point,
                                        bool clean_shutdown) {
    std::vector<std::string> names;
    for (const auto& s : model.segments) {
        for (const auto suffix : {log::format::kLogSuffix, log::format::kOffsetIndexSuffix,
                                  log::format::kTimeIndexSuffix}) {
            names.push_back(log::Segment::file_name(s.base, suffix));
        }
    }
    for (const Offset at : model.snapshots) {
        names.push_back(log::Segment::file_name(at, log::format::kSnapshotSuffix));
    }
    if (recovery_point) names.emplace_back(log::format::kRecoveryPointFile);
    if (clean_shutdown) names.emplace_back(log::format::kCleanShutdownFile);
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST_CASE_TEMPLATE("batches that fit exactly fill a segment to segment.bytes", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    ManualClock clock(1'000);
    auto batch = [](std::int64_t n) { return std::vector{sized_record(n, 1'000, 50)}; };
    const std::size_t batch_bytes = encode(batch(0)).size();
    REQUIRE(encode(batch(9)).size() == batch_bytes);
    log::LogConfig config = small_config();
    config.segment_bytes = static_cast<std::int64_t>(3 * batch_bytes);
    auto log = open_log(env.fs(), env.root() + "/p", config, clock);
    for (int n = 0; n < 10; ++n) append(*log, batch(n));

    const auto segments = log->segments();
    REQUIRE(segments.size() == 4);
    for (std::size_t i = 0; i < segments.size(); ++i) {
        CHECK(segments[i].base_offset == Offset(static_cast<std::int64_t>(3 * i)));
        CHECK(segments[i].size_bytes == (i < 3 ? 3 * batch_bytes : batch_bytes));
    }
}

TEST_CASE_TEMPLATE("size rolls match the model; an oversized batch goes alone in its segment", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(1'000);
    std::mt19937_64 rng(42);
    auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    LogModel model;
    model.config = small_config();
    model.config.segment_bytes = 1500;
    model.config.max_message_bytes = 16'000;
    const std::string dir = env.root() + "/p";

    std::vector<std::pair<Offset, std::size_t>> oversized;  // base offset and size
    auto append_random = [&](log::PartitionLog& log, int batches) {
        for (int b = 0; b < batches; ++b) {
            const bool big = b == 0 || uniform(0, 9) == 0;
            std::vector<log::Record> batch;
            for (std::int64_t i = uniform(1, 4); i > 0; --i) {
                const auto value_bytes =
                    static_cast<std::size_t>(big ? uniform(1600, 3000) : uniform(0, 400));
                batch.push_back(sized_record(uniform(0, 1'000'000), 1'000 + b, value_bytes));
            }
            const std::size_t bytes = encode(batch).size();
            if (big) {
                REQUIRE(bytes > static_cast<std::size_t>(model.config.segment_bytes));
                REQUIRE(bytes <= static_cast<std::size_t>(model.config.max_message_bytes));
                oversized.emplace_back(model.end(), bytes);
            }
            append_both(log, model, batch);
        }
    };

    {
        auto log = open_log(env.fs(), dir, model.config, clock);
        append_random(*log, 50);
        check_segments(*log, model);
        REQUIRE(log->close().is_ok());
        model.close();
    }
    // The reopened active segment keeps its size, so the next rolls still follow the rule.
    auto log = open_log(env.fs(), dir, model.config, clock);
    model.reopen();
    append_random(*log, 30);
    check_segments(*log, model);
    CHECK(model.rolls[Roll::size] > 30);
    CHECK(model.rolls.size() == 1);

    const auto segments = log->segments();
    REQUIRE(oversized.size() >= 4);
    for (const auto& [base, bytes] : oversized) {
        CAPTURE(base.value());
        const auto it = std::find_if(segments.begin(), segments.end(),
                                     [base](const auto& s) { return s.base_offset == base; });
        REQUIRE(it != segments.end());
        CHECK(it->size_bytes == bytes);
    }
    check_contents(*log, model);
}

TEST_CASE_TEMPLATE("a segment rolls when its first batch is more than segment.ms old", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(100'000);
    log::LogConfig config = small_config();
    config.segment_ms = 1000;
    const std::string dir = env.root() + "/p";
    auto now_batch = [&clock](std::int64_t n) {
        return std::vector{make_record(n, clock.now_ms()), make_record(n + 1, clock.now_ms())};
    };
    auto bases = [](const log::PartitionLog& log) {
        std::vector<std::int64_t> out;
        for (const auto& s : log.segments()) out.push_back(s.base_offset.value());
        return out;
    };

    {
        auto log = open_log(env.fs(), dir, config, clock);
        append(*log, now_batch(0));
        clock.advance_ms(600);
        append(*log, now_batch(2));
        clock.advance_ms(400);
        append(*log, now_batch(4));
        CHECK(bases(*log) == std::vector<std::int64_t>{0});
        clock.advance_ms(1);
        append(*log, now_batch(6));
        CHECK(bases(*log) == std::vector<std::int64_t>{0, 6});

        // The age counts from the first batch of the new segment, not from later ones.
        clock.advance_ms(1000);
        append(*log, now_batch(8));
        CHECK(bases(*log) == std::vector<std::int64_t>{0, 6});
        clock.advance_ms(1);
        append(*log, now_batch(10));
        CHECK(bases(*log) == std::vector<std::int64_t>{0, 6, 10});

        // The age is measured between record timestamps, as in Kafka: old records never roll
        // a segment, whatever the clock says, and a batch rolls when its own timestamp is more
        // than segment.ms past the first batch's.
        append(*log, {make_record(12, clock.now_ms() - 5000)});
        clock.advance_ms(1001);
        append(*log, {make_record(13, clock.now_ms() - 5000)});
        CHECK(bases(*log) == std::vector<std::int64_t>{0, 6, 10});
        append(*log, now_batch(14));
        CHECK(bases(*log) == std::vector<std::int64_t>{0, 6, 10, 14});
        REQUIRE(log->close().is_ok());
    }
    // A reopened log recovers the active segment's first timestamp from its first batch.
    auto log = open_log(env.fs(), dir, config, clock);
    clock.advance_ms(1000);
    append(*log, now_batch(16));
    CHECK(bases(*log) == std::vector<std::int64_t>{0, 6, 10, 14});
    clock.advance_ms(1);
    append(*log, now_batch(18));
    CHECK(bases(*log) == std::vector<std::int64_t>{0, 6, 10, 14, 18});
    CHECK(log->log_end_offset() == Offset(20));
}

TEST_CASE_TEMPLATE("importing a year-old history in timestamp order rolls by size only", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(400'000'000'000);
    log::LogConfig config = small_config();
    config.segment_ms = 1000;
    auto log = open_log(env.fs(), env.root() + "/p", config, clock);
    // 100 batches, 5 ms apart, all a year older than the clock: 495 ms in all, below segment.ms.
    const std::int64_t year_ago = clock.now_ms() - 365LL * 24 * 60 * 60 * 1000;
    for (std::int64_t i = 0; i < 100; ++i) append(*log, {make_record(i, year_ago + 5 * i)});
    CHECK(log->segments().size() == 1);
    // Once the history spans more than segment.ms, the next batch starts a segment.
    append(*log, {make_record(100, year_ago + 1001)});
    CHECK(log->segments().size() == 2);
    CHECK(log->segments().back().base_offset == Offset(100));
}

TEST_CASE_TEMPLATE("time rolls at random clock steps match the model", Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(5'000'000);
    std::mt19937_64 rng(9);
    auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    LogModel model;
    model.config = small_config();
    model.config.segment_ms = 1000;
    auto log = open_log(env.fs(), env.root() + "/p", model.config, clock);

    for (int b = 0; b < 200; ++b) {
        // Every third append lands on or next to the boundary: 1000 does not roll, 1001 does.
        const auto& first = model.segments.back().rolling_timestamp;
        const std::int64_t edge = first ? *first + 1000 + uniform(-1, 1) : 0;
        if (uniform(0, 2) == 0 && edge >= clock.now_ms()) {
            clock.set_ms(edge);
        } else {
            clock.advance_ms(uniform(0, 400));
        }
        std::vector<log::Record> batch;
        for (std::int64_t i = uniform(1, 3); i > 0; --i) {
            batch.push_back(
                make_record(static_cast<std::int64_t>(model.records.size()), clock.now_ms()));
        }
        append_both(*log, model, batch);
    }
    check_segments(*log, model);
    CHECK(model.rolls[Roll::time] > 20);
    CHECK(model.rolls.size() == 1);
    check_contents(*log, model);
}

TEST_CASE_TEMPLATE("a full index rolls the segment", Env, PosixEnv, MemoryEnv) {
    // 64 bytes hold 4 offset entries but 2 time entries, so the time index fills first. 104
    // bytes hold 9 and 6: stretches of timestamps that rarely grow fill the offset index first,
    // stretches that often grow fill the time index first.
    for (const std::int64_t index_bytes : {std::int64_t{64}, std::int64_t{104}}) {
        CAPTURE(index_bytes);
        Env env;
        ManualClock clock(0);
        std::mt19937_64 rng(static_cast<std::uint64_t>(index_bytes));
        auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
            return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
        };
        LogModel model;
        model.config.segment_index_bytes = index_bytes;
        model.config.index_interval_bytes = 0;
        const std::string dir = env.root() + "/p";
        std::int64_t high = 10'000;

        auto append_random = [&](log::PartitionLog& log, int batches) {
            for (int b = 0; b < batches; ++b) {
                std::vector<log::Record> batch;
                for (std::int64_t i = uniform(1, 3); i > 0; --i) {
                    const bool grow = uniform(0, 9) < (model.records.size() / 60 % 2 ? 8 : 1);
                    const std::int64_t ts = grow ? ++high : high - uniform(0, 500);
                    batch.push_back(sized_record(static_cast<std::int64_t>(model.records.size()),
                                                 ts, static_cast<std::size_t>(uniform(0, 60))));
                }
                append_both(log, model, batch);
            }
        };

        {
            auto log = open_log(env.fs(), dir, model.config, clock);
            append_random(*log, 120);
            check_segments(*log, model);
            check_contents(*log, model);
            check_index_files(env.fs(), dir, model);
            REQUIRE(log->close().is_ok());
            model.close();
            check_index_files(env.fs(), dir, model);
        }
        auto log = open_log(env.fs(), dir, model.config, clock);
        model.reopen();
        check_contents(*log, model);
        append_random(*log, 30);
        check_segments(*log, model);
        check_contents(*log, model);
        check_index_files(env.fs(), dir, model);

        CHECK(model.rolls[Roll::time_index] > 10);
        if (index_bytes == 104) CHECK(model.rolls[Roll::offset_index] > 5);
        CHECK(model.rolls[Roll::size] == 0);
        CHECK(model.rolls[Roll::time] == 0);
    }
}

TEST_CASE_TEMPLATE("segment files are named by base offset; sealed indexes are trimmed", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(0);
    std::mt19937_64 rng(5);
    auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    LogModel model;
    model.config.segment_bytes = 1200;
    model.config.segment_index_bytes = 1000;
    model.config.index_interval_bytes = 100;
    const std::string dir = env.root() + "/p";
    auto append_random = [&](log::PartitionLog& log, int batches) {
        for (int b = 0; b < batches; ++b) {
            std::vector<log::Record> batch;
            for (std::int64_t i = uniform(1, 3); i > 0; --i) {
                batch.push_back(sized_record(static_cast<std::int64_t>(model.records.size()),
                                             uniform(0, 100'000),
                                             static_cast<std::size_t>(uniform(0, 120))));
            }
            append_both(log, model, batch);
        }
    };

    {
        auto log = open_log(env.fs(), dir, model.config, clock);
        CHECK(sorted_names(env.fs(), dir) == expected_names(model, false, false));
        append_random(*log, 60);
        check_segments(*log, model);
        REQUIRE(model.segments.size() > 4);
        CHECK(sorted_names(env.fs(), dir) == expected_names(model, true, false));
        CHECK(log::Segment::file_name(Offset(42), log::format::kLogSuffix) ==
              "00000000000000000042.log");
        check_index_files(env.fs(), dir, model);
        REQUIRE(log->close().is_ok());
        model.close();
        CHECK(sorted_names(env.fs(), dir) == expected_names(model, true, true));
        check_index_files(env.fs(), dir, model);
    }
    // A clean reopen writes nothing: the marker stays and the active segment stays sealed
    // until the first append, which removes the marker and grows the active indexes back.
    auto log = open_log(env.fs(), dir, model.config, clock);
    CHECK(log->recovery_report().clean_shutdown);
    CHECK(sorted_names(env.fs(), dir) == expected_names(model, true, true));
    check_index_files(env.fs(), dir, model);
    check_contents(*log, model);
    append_random(*log, 1);
    model.reopen();
    CHECK(sorted_names(env.fs(), dir) == expected_names(model, true, false));
    check_index_files(env.fs(), dir, model);
    append_random(*log, 29);
    check_segments(*log, model);
    check_index_files(env.fs(), dir, model);
    check_contents(*log, model);
}

TEST_CASE_TEMPLATE("after a crash only the segments from the recovery point are validated", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(0);
    LogModel model;
    model.config = small_config();
    model.config.segment_bytes = 500;
    model.config.index_interval_bytes = 64;
    const std::string dir = env.root() + "/live";
    const std::string image = env.root() + "/image";
    const std::string image_without_point = env.root() + "/image2";

    auto log = open_log(env.fs(), dir, model.config, clock);
    for (int b = 0; b < 60; ++b) {
        const std::int64_t n = static_cast<std::int64_t>(model.records.size());
        append_both(*log, model,
                    {make_record(n, 1'000 + (b * 37) % 100), make_record(n + 1, 2'000 - b)});
    }
    check_segments(*log, model);
    REQUIRE(model.segments.size() > 5);
    auto point = log::read_checkpoint(env.fs(), dir, log::CheckpointKind::recovery_point);
    REQUIRE(point.is_ok());
    REQUIRE(point->has_value());
    CHECK((*point)->offset == model.segments.back().base);
    copy_dir(env.fs(), dir, image);
    copy_dir(env.fs(), dir, image_without_point);
    REQUIRE(env.fs()
                .remove_file(fs::join_path(image_without_point,
                                           std::string(log::format::kRecoveryPointFile)))
                .is_ok());

    auto recovered = open_log(env.fs(), image, model.config, clock);
    CHECK_FALSE(recovered->recovery_report().clean_shutdown);
    CHECK(recovered->recovery_report().segments_scanned == 1);
    CHECK(recovered->recovery_report().bytes_truncated == 0);
    check_segments(*recovered, model);
    check_contents(*recovered, model);

    // Without the checkpoint every segment is validated, and the data is the same.
    auto rescanned = open_log(env.fs(), image_without_point, model.config, clock);
    CHECK(rescanned->recovery_report().segments_scanned == static_cast<int>(model.segments.size()));
    check_contents(*rescanned, model);
}

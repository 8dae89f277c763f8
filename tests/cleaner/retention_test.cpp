// Retention: retention.ms and retention.bytes delete the oldest sealed segments, the active
// segment rolls on segment.ms first, the log start offset advances durably before files go,
// delete_records-style advances survive a reopen, and a reader inside a deleted segment
// finishes its read. Each test compares the log with a model: the records at or above the
// expected log start, as appended.
#include "cleaner/retention.hpp"

#include <brook/clock.hpp>

#include "log/format.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

constexpr std::int64_t kHour = 60 * 60 * 1000;

log::LogConfig small_config() {
    log::LogConfig config;
    config.segment_index_bytes = 4096;
    return config;
}

void roll(log::PartitionLog& log) {
    auto rolled = log.roll_if_due(true);
    REQUIRE_MESSAGE(rolled.is_ok(), rolled.status().to_string());
}

// Records at or above `start` of the model, which holds every record appended.
std::vector<log::Record> tail(const std::vector<log::Record>& model, Offset start) {
    std::vector<log::Record> out;
    for (const auto& r : model) {
        if (r.offset >= start) out.push_back(r);
    }
    return out;
}

cleaner::RetentionResult retain(log::PartitionLog& log, cleaner::RetentionConfig config,
                                std::int64_t now) {
    auto result = cleaner::apply_retention(log, config, now);
    REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
    return *result;
}

}  // namespace

TEST_CASE_TEMPLATE("retention.ms deletes sealed segments past the limit, oldest first", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(1'000'000);
    const std::string dir = env.root() + "/p";
    auto log = open_log(env.fs(), dir, small_config(), clock);
    std::vector<log::Record> model;
    // Segment i holds two records with timestamps around hour i; segment 3 is out of order
    // (newer than segment 4), so deletion must stop there even though 4 is older.
    const std::int64_t times[] = {1, 2, 3, 9, 4};
    for (std::int64_t i = 0; i < 5; ++i) {
        std::vector<log::Record> batch = {make_record(2 * i, times[i] * kHour),
                                          make_record(2 * i + 1, times[i] * kHour + 5)};
        const auto appended = append(*log, batch);
        for (auto& r : with_offsets(batch, appended.base_offset)) model.push_back(r);
        roll(*log);
    }
    REQUIRE(log->segments().size() == 6);

    // At hour 5.5 with a 2-hour limit: segments of hours 1, 2 and 3 have expired; 9 has not.
    const auto result = retain(*log, {2 * kHour, -1}, 5 * kHour + kHour / 2);
    CHECK(result.segments_deleted == 3);
    CHECK(log->log_start_offset() == Offset(6));
    CHECK(log->segments().front().base_offset == Offset(6));
    CHECK(read_all(*log) == tail(model, Offset(6)));
    CHECK(!env.fs().exists(dir + "/00000000000000000000.log"));
    CHECK(!env.fs().exists(dir + "/00000000000000000004.index"));
    CHECK(env.fs().exists(dir + "/00000000000000000006.log"));

    // Nothing more until the hour-9 segment expires; then it and the hour-4 one go, and the
    // active segment (empty) stays.
    CHECK(retain(*log, {2 * kHour, -1}, 8 * kHour).segments_deleted == 0);
    CHECK(retain(*log, {2 * kHour, -1}, 12 * kHour).segments_deleted == 2);
    CHECK(log->segments().size() == 1);
    CHECK(log->log_start_offset() == Offset(10));
    CHECK(log->log_end_offset() == Offset(10));
    CHECK(read_all(*log).empty());

    // retention.ms = -1 keeps everything.
    append(*log, {make_record(10, 1)});
    roll(*log);
    CHECK(retain(*log, {-1, -1}, 1'000 * kHour).segments_deleted == 0);
}

TEST_CASE_TEMPLATE("the active segment rolls on segment.ms or when all of it expired, then goes",
                   Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(0);
    auto config = small_config();
    config.segment_ms = 10 * kHour;
    auto log = open_log(env.fs(), env.root() + "/p", config, clock);
    append(*log, {make_record(0, 0), make_record(1, 1)});
    REQUIRE(log->segments().size() == 1);

    // Within retention and segment.ms: nothing happens.
    clock.set_ms(kHour);
    CHECK(retain(*log, {5 * kHour, -1}, clock.now_ms()).segments_deleted == 0);
    CHECK(log->segments().size() == 1);

    // segment.ms elapsed: the active segment rolls, but its data is still within retention.
    clock.set_ms(11 * kHour);
    auto kept = retain(*log, {20 * kHour, -1}, clock.now_ms());
    CHECK(kept.segments_deleted == 0);
    CHECK(log->segments().size() == 2);
    CHECK(read_all(*log).size() == 2);

    // A new active segment whose data all expired rolls and goes with the rest.
    append(*log, {make_record(2, 12 * kHour)});
    clock.set_ms(40 * kHour);
    const auto gone = retain(*log, {20 * kHour, -1}, clock.now_ms());
    CHECK(gone.segments_deleted == 2);
    CHECK(log->log_start_offset() == Offset(3));
    CHECK(log->log_end_offset() == Offset(3));
    // Appends go on at the end.
    CHECK(append(*log, {make_record(3, 41 * kHour)}).base_offset == Offset(3));
    CHECK(read_all(*log) == with_offsets({make_record(3, 41 * kHour)}, Offset(3)));
}

TEST_CASE_TEMPLATE("retention.bytes keeps the partition at or above the limit", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    ManualClock clock(0);
    auto log = open_log(env.fs(), env.root() + "/p", small_config(), clock);
    std::vector<log::Record> model;
    std::vector<std::uint64_t> sizes;
    for (std::int64_t i = 0; i < 6; ++i) {
        std::vector<log::Record> batch;
        for (std::int64_t j = 0; j <= i; ++j) batch.push_back(make_record(i * 10 + j, i));
        const auto appended = append(*log, batch);
        for (auto& r : with_offsets(batch, appended.base_offset)) model.push_back(r);
        roll(*log);
    }
    for (const auto& s : log->segments()) sizes.push_back(s.size_bytes);
    REQUIRE(sizes.size() == 7);  // six sealed and an empty active one

    // Brute force: delete the longest prefix of sealed segments leaving >= limit bytes.
    const std::uint64_t total = log->size_bytes();
    const std::uint64_t limit = sizes[4] + sizes[5] + sizes[3] / 2;  // keeps 3, 4 and 5
    std::size_t expect = 0;
    std::uint64_t left = total;
    while (expect < 6 && left - sizes[expect] >= limit) left -= sizes[expect++];
    REQUIRE(expect == 3);

    const auto result = retain(*log, {-1, static_cast<std::int64_t>(limit)}, 100);
    CHECK(result.segments_deleted == expect);
    CHECK(result.bytes_deleted == sizes[0] + sizes[1] + sizes[2]);
    CHECK(log->size_bytes() == left);
    CHECK(log->size_bytes() >= limit);
    const Offset start = log->segments().front().base_offset;
    CHECK(log->log_start_offset() == start);
    CHECK(read_all(*log) == tail(model, start));

    // A limit of exactly the remaining size deletes nothing more; 0 deletes every sealed one.
    CHECK(retain(*log, {-1, static_cast<std::int64_t>(left)}, 100).segments_deleted == 0);
    CHECK(retain(*log, {-1, 0}, 100).segments_deleted == 3);
    CHECK(log->segments().size() == 1);
    CHECK(read_all(*log).empty());
}

TEST_CASE_TEMPLATE("the log start offset is durable and reads below it are out of range", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(0);
    const std::string dir = env.root() + "/p";
    std::vector<log::Record> model;
    {
        auto log = open_log(env.fs(), dir, small_config(), clock);
        for (std::int64_t i = 0; i < 4; ++i) {
            std::vector<log::Record> batch = {make_record(2 * i, i), make_record(2 * i + 1, i)};
            const auto appended = append(*log, batch);
            for (auto& r : with_offsets(batch, appended.base_offset)) model.push_back(r);
            if (i < 3) roll(*log);
        }
        // Into the middle of segment 2 (offsets 4 and 5): segments 0 and 1 go, 2 stays.
        auto removed = log->advance_log_start(Offset(5));
        REQUIRE(removed.is_ok());
        CHECK(*removed > 0);
        CHECK(log->log_start_offset() == Offset(5));
        CHECK(log->segments().front().base_offset == Offset(4));
        CHECK(read_all(*log) == tail(model, Offset(5)));
        auto below = log->read(Offset(4), 1 << 20);
        REQUIRE(!below.is_ok());
        CHECK(below.code() == Code::offset_out_of_range);
        CHECK(below.status().sub_code() == SubCode::below_log_start);
        // Lookups by time answer at or above the start: offset 4 (time 2) is gone.
        auto by_time = log->offset_for_timestamp(2);
        REQUIRE(by_time.is_ok());
        CHECK(*by_time == std::optional<Offset>(Offset(5)));
        // Never lowered, never above the end.
        REQUIRE(log->advance_log_start(Offset(2)).is_ok());
        CHECK(log->log_start_offset() == Offset(5));
        CHECK(env.fs().exists(dir + "/" + std::string(log::format::kLogStartOffsetFile)));
    }
    {
        auto log = open_log(env.fs(), dir, small_config(), clock);
        CHECK(log->log_start_offset() == Offset(5));
        CHECK(read_all(*log) == tail(model, Offset(5)));
        REQUIRE(log->advance_log_start(Offset(100)).is_ok());
        CHECK(log->log_start_offset() == Offset(8));
        CHECK(log->segments().size() == 1);
    }
    {
        // An unclean reopen (no close) keeps it too.
        auto log = open_log(env.fs(), dir, small_config(), clock);
        CHECK(log->log_start_offset() == Offset(8));
        CHECK(read_all(*log).empty());
    }
}

TEST_CASE("a damaged log start checkpoint is reported, not ignored") {
    MemoryEnv env;
    ManualClock clock(0);
    const std::string dir = env.root() + "/p";
    {
        auto log = open_log(env.fs(), dir, small_config(), clock);
        append(*log, {make_record(0, 0), make_record(1, 0)});
        roll(*log);
        append(*log, {make_record(2, 0)});
        REQUIRE(log->advance_log_start(Offset(1)).is_ok());
    }
    {
        auto file = env.fs().open(dir + "/" + std::string(log::format::kLogStartOffsetFile),
                                  fs::OpenMode::read_write);
        REQUIRE(file.is_ok());
        const std::byte junk[4] = {};
        REQUIRE((*file)->write_at(8, junk).is_ok());
    }
    auto reopened = log::PartitionLog::open(env.fs(), dir, small_config(), clock);
    REQUIRE(!reopened.is_ok());
    CHECK(reopened.code() == Code::corruption);
    CHECK(reopened.status().message().find("log-start-offset") != std::string::npos);
}

TEST_CASE_TEMPLATE("data read before a deletion stays intact; the next read is out of range", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(0);
    auto log = open_log(env.fs(), env.root() + "/p", small_config(), clock);
    std::vector<log::Record> first;
    for (std::int64_t i = 0; i < 50; ++i) first.push_back(make_record(i, i));
    append(*log, first);
    roll(*log);
    append(*log, {make_record(50, 50)});

    // Readers racing deletions are in concurrency_test.cpp; here the order is fixed.
    const auto before = log->read(Offset(10), 1 << 20);
    REQUIRE(before.is_ok());
    REQUIRE(log->advance_log_start(Offset(50)).is_ok());
    REQUIRE(log->segments().size() == 1);
    // The decoded batch is complete and intact.
    REQUIRE(before->size() == 1);
    const auto expected = with_offsets(first, Offset(0));
    CHECK(before->front().records ==
          std::vector<log::Record>(expected.begin() + 10, expected.end()));
    // The next read below the start is out of range, as a consumer's auto.offset.reset needs.
    const auto after = log->read(Offset(11), 1 << 20);
    REQUIRE(!after.is_ok());
    CHECK(after.status().sub_code() == SubCode::below_log_start);
}

TEST_CASE_TEMPLATE("a follower sees the writer's log start offset", Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(0);
    const std::string dir = env.root() + "/p";
    auto writer = open_log(env.fs(), dir, small_config(), clock);
    for (std::int64_t i = 0; i < 3; ++i) {
        append(*writer, {make_record(2 * i, i), make_record(2 * i + 1, i)});
        roll(*writer);
    }
    REQUIRE(writer->advance_log_start(Offset(3)).is_ok());
    auto opened = log::PartitionLog::open_follower(env.fs(), dir, small_config(), clock);
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
    auto& follower = **opened;
    CHECK(follower.log_start_offset() == Offset(3));
    CHECK(follower.read(Offset(2), 1 << 20).status().sub_code() == SubCode::below_log_start);
    CHECK(read_all(follower).front().offset == Offset(3));

    REQUIRE(writer->advance_log_start(Offset(5)).is_ok());
    append(*writer, {make_record(6, 6)});
    REQUIRE(follower.refresh().is_ok());
    CHECK(follower.log_start_offset() == Offset(5));
    CHECK(read_all(follower).size() == 2);
    // The segments retention removed are let go, so their disk space is freed.
    const auto bases = [](const log::PartitionLog& log) {
        std::vector<Offset> out;
        for (const auto& s : log.segments()) out.push_back(s.base_offset);
        return out;
    };
    CHECK(bases(follower) == bases(*writer));
}

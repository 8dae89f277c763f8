// Recovery: torn tails are cut off exactly, damage in the middle of a log is reported as
// corruption and never truncated, and missing or garbled indexes are rebuilt identically.
// "Crash images" are copies of a partition directory taken while the log is still open, so
// they carry unsealed indexes and no clean-shutdown marker, as a crash would leave them.
#include <brook/clock.hpp>

#include "log/format.hpp"
#include "log/segment.hpp"
#include "support/fs_util.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

struct Fixture {
    log::LogConfig config;
    ManualClock clock{10'000};
    std::vector<log::Record> model;
    std::vector<std::size_t> batch_sizes;  // encoded size of each appended batch

    Fixture() {
        config.segment_bytes = 700;
        config.index_interval_bytes = 120;
    }

    std::unique_ptr<log::PartitionLog> open(fs::FileSystem& fs, const std::string& dir) {
        auto opened = log::PartitionLog::open(fs, dir, config, clock);
        REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
        return std::move(opened).value();
    }

    // Appends `batches` batches of 1-3 records to the open log.
    void fill(log::PartitionLog& log, int batches) {
        for (int b = 0; b < batches; ++b) {
            std::vector<log::Record> batch;
            for (int i = 0; i <= b % 3; ++i) {
                batch.push_back(
                    make_record(static_cast<std::int64_t>(model.size()) + i, 10'000 + b * 10 + i));
            }
            batch_sizes.push_back(encode(batch).size());
            const auto placed = with_offsets(batch, append(log, batch).base_offset);
            model.insert(model.end(), placed.begin(), placed.end());
        }
    }

    // Builds a log and leaves a crash image of it in `image`.
    void crash_image(fs::FileSystem& fs, const std::string& dir, const std::string& image,
                     int batches) {
        auto log = open(fs, dir);
        fill(*log, batches);
        REQUIRE(log->segments().size() >= 3);
        copy_dir(fs, dir, image);
    }
};

std::string active_log(fs::FileSystem& fs, const std::string& dir) {
    std::string last;
    for (const auto& name : sorted_names(fs, dir)) {
        if (log::Segment::parse_file_name(name, log::format::kLogSuffix)) last = name;
    }
    return fs::join_path(dir, last);
}

}  // namespace

TEST_CASE_TEMPLATE("a cut anywhere inside the last batch recovers exactly the earlier batches", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    Fixture f;
    const std::string image = env.root() + "/image";
    f.crash_image(env.fs(), env.root() + "/live", image, 40);

    const std::string last_log = active_log(env.fs(), image);
    const std::uint64_t full_size = read_file(env.fs(), last_log).size();
    const std::size_t last_batch = f.batch_sizes.back();
    const std::uint64_t last_start = full_size - last_batch;
    const std::size_t last_records = 40 % 3 == 0 ? 3 : (39 % 3) + 1;
    const std::vector<log::Record> expected(f.model.begin(), f.model.end() - last_records);

    for (std::uint64_t cut = last_start; cut < full_size; ++cut) {
        CAPTURE(cut);
        const std::string dir = env.root() + "/cut" + std::to_string(cut);
        copy_dir(env.fs(), image, dir);
        truncate_file(env.fs(), active_log(env.fs(), dir), cut);
        auto log = f.open(env.fs(), dir);
        CHECK_FALSE(log->recovery_report().clean_shutdown);
        CHECK(log->recovery_report().bytes_truncated == cut - last_start);
        CHECK(log->log_end_offset() == expected.back().offset + 1);
        CHECK(read_all(*log) == expected);
        // The recovered log appends where the torn batch would have gone.
        CHECK(append(*log, {make_record(999, 1)}).base_offset == expected.back().offset + 1);
    }
}

TEST_CASE_TEMPLATE("a checksum failure in the final batch is a torn tail", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    Fixture f;
    const std::string image = env.root() + "/image";
    f.crash_image(env.fs(), env.root() + "/live", image, 31);
    const std::string last_log = active_log(env.fs(), image);
    flip_byte(env.fs(), last_log, read_file(env.fs(), last_log).size() - 3);

    auto log = f.open(env.fs(), image);
    CHECK(log->recovery_report().bytes_truncated == f.batch_sizes.back());
    const std::size_t last_records = (30 % 3) + 1;
    CHECK(read_all(*log) ==
          std::vector<log::Record>(f.model.begin(), f.model.end() - last_records));
}

TEST_CASE_TEMPLATE("damage before valid batches is corruption and is never truncated", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    Fixture f;
    const std::string image = env.root() + "/image";
    f.crash_image(env.fs(), env.root() + "/live", image, 40);
    const std::string last_log = active_log(env.fs(), image);
    const auto original = read_file(env.fs(), last_log);
    REQUIRE(original.size() > f.batch_sizes.back() + log::format::kBatchHeaderSize);

    SUBCASE("a flipped byte in a record") {
        flip_byte(env.fs(), last_log, log::format::kRecordsPos + 2);
    }
    SUBCASE("a garbled length field") {
        flip_byte(env.fs(), last_log, log::format::kBatchLengthPos + 2);
    }
    SUBCASE("a garbled base offset") {
        flip_byte(env.fs(), last_log, log::format::kBaseOffsetPos + 7);
    }
    const auto damaged = read_file(env.fs(), last_log);

    auto opened = log::PartitionLog::open(env.fs(), image, f.config, f.clock);
    REQUIRE(opened.code() == Code::corruption);
    const std::string message = opened.status().message();
    CHECK(message.find(last_log) != std::string::npos);
    CHECK(message.find("at byte 0") != std::string::npos);
    // Nothing was cut off or rewritten.
    CHECK(read_file(env.fs(), last_log) == damaged);
}

TEST_CASE_TEMPLATE("damage in a sealed segment is reported on read, never returned", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    Fixture f;
    const std::string dir = env.root() + "/p";
    {
        auto log = f.open(env.fs(), dir);
        f.fill(*log, 40);
    }
    const std::string first_log = segment_file(dir, Offset(0), log::format::kLogSuffix);
    flip_byte(env.fs(), first_log, log::format::kRecordsPos + 1);

    auto log = f.open(env.fs(), dir);  // clean shutdown: nothing rescanned, so this opens
    auto first = log->read(Offset(0), 1 << 20);
    CHECK(first.code() == Code::corruption);
    CHECK(first.status().message().find(first_log) != std::string::npos);
    // Later segments stay readable.
    const Offset second_base = log->segments().at(1).base_offset;
    CHECK(read_all(*log, second_base) ==
          std::vector<log::Record>(f.model.begin() + second_base.value(), f.model.end()));
}

TEST_CASE_TEMPLATE("missing or garbled indexes are rebuilt with identical lookups", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    Fixture f;
    f.config.index_interval_bytes = 60;
    const std::string dir = env.root() + "/p";
    {
        auto log = f.open(env.fs(), dir);
        f.fill(*log, 60);
    }
    // Lookups and index bytes of the intact log.
    std::vector<std::vector<std::byte>> indexes;
    auto lookups = [&](log::PartitionLog& log) {
        std::vector<std::int64_t> out;
        for (std::int64_t o = 0; o < log.log_end_offset().value(); ++o) {
            auto batches = log.read(Offset(o), 1);
            REQUIRE(batches.is_ok());
            out.push_back(batches->front().header.base_offset.value());
        }
        for (std::int64_t t = 9'990; t < 10'700; t += 7) {
            auto found = log.offset_for_timestamp(t);
            REQUIRE(found.is_ok());
            out.push_back(found->value_or(Offset(-1)).value());
        }
        return out;
    };
    std::vector<std::int64_t> expected;
    std::vector<log::SegmentInfo> segments;
    {
        auto log = f.open(env.fs(), dir);
        expected = lookups(*log);
        segments = log->segments();
    }
    REQUIRE(segments.size() >= 4);
    const Offset victim = segments[1].base_offset;
    const std::string offset_index = segment_file(dir, victim, log::format::kOffsetIndexSuffix);
    const std::string time_index = segment_file(dir, victim, log::format::kTimeIndexSuffix);
    const auto offset_bytes = read_file(env.fs(), offset_index);
    const auto time_bytes = read_file(env.fs(), time_index);
    REQUIRE(offset_bytes.size() > log::format::kIndexHeaderSize);

    SUBCASE("deleted") {
        REQUIRE(env.fs().remove_file(offset_index).is_ok());
        REQUIRE(env.fs().remove_file(time_index).is_ok());
    }
    SUBCASE("garbled entries") {
        flip_byte(env.fs(), offset_index, log::format::kIndexHeaderSize + 1);
        flip_byte(env.fs(), time_index, log::format::kIndexHeaderSize + 3);
    }
    SUBCASE("garbled header") {
        flip_byte(env.fs(), offset_index, 0);
        flip_byte(env.fs(), time_index, 17);
    }
    auto log = f.open(env.fs(), dir);
    CHECK(lookups(*log) == expected);
    CHECK(read_file(env.fs(), offset_index) == offset_bytes);
    CHECK(read_file(env.fs(), time_index) == time_bytes);
}

TEST_CASE_TEMPLATE("bytes after a clean close make the next open a recovery", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    Fixture f;
    const std::string dir = env.root() + "/p";
    {
        auto log = f.open(env.fs(), dir);
        f.fill(*log, 20);
    }
    const std::string last_log = active_log(env.fs(), dir);
    auto bytes = read_file(env.fs(), last_log);
    bytes.insert(bytes.end(), 40, std::byte{0});
    write_file(env.fs(), last_log, bytes);

    auto log = f.open(env.fs(), dir);
    CHECK_FALSE(log->recovery_report().clean_shutdown);
    CHECK(log->recovery_report().bytes_truncated == 40);
    CHECK(read_all(*log) == f.model);
}

TEST_CASE_TEMPLATE(
    "a clean open writes nothing until the first append, which makes a crash unclean", Env,
    PosixEnv, MemoryEnv) {
    Env env;
    Fixture f;
    const std::string dir = env.root() + "/p";
    const std::string image = env.root() + "/image";
    {
        auto log = f.open(env.fs(), dir);
        f.fill(*log, 20);
    }
    const auto names_after_close = sorted_names(env.fs(), dir);
    const auto active_after_close = read_file(env.fs(), active_log(env.fs(), dir));
    // Open, read, close again without writing: the directory is byte for byte what it was.
    for (int round = 0; round < 2; ++round) {
        auto log = f.open(env.fs(), dir);
        CHECK(log->recovery_report().clean_shutdown);
        CHECK(log->recovery_report().segments_scanned == 0);
        CHECK(read_all(*log) == f.model);
        CHECK(sorted_names(env.fs(), dir) == names_after_close);
        // A crash now (no close) still leaves a clean, valid marker: nothing changed.
        copy_dir(env.fs(), dir, image + std::to_string(round));
        auto crashed = f.open(env.fs(), image + std::to_string(round));
        CHECK(crashed->recovery_report().clean_shutdown);
        CHECK(read_all(*crashed) == f.model);
    }
    CHECK(read_file(env.fs(), active_log(env.fs(), dir)) == active_after_close);

    // The first append removes the marker before it writes: a crash after it is unclean, and
    // recovery keeps every record.
    auto log = f.open(env.fs(), dir);
    f.fill(*log, 1);
    CHECK_FALSE(env.fs().exists(fs::join_path(dir, std::string(log::format::kCleanShutdownFile))));
    copy_dir(env.fs(), dir, image);
    auto crashed = f.open(env.fs(), image);
    CHECK_FALSE(crashed->recovery_report().clean_shutdown);
    CHECK(read_all(*crashed) == f.model);
    // And a clean close after writing leaves a valid marker again.
    REQUIRE(log->close().is_ok());
    auto reopened = f.open(env.fs(), dir);
    CHECK(reopened->recovery_report().clean_shutdown);
    CHECK(read_all(*reopened) == f.model);
}

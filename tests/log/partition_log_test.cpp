// The partition log's contract: appends get consecutive offsets, reads return exactly what was
// appended, out-of-range reads are distinct errors, bad input is refused with nothing lost,
// and a clean close reopens without a rescan. Every case runs on both file systems.
#include <brook/clock.hpp>
#include <fstream>

#include "support/fault_fs.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

TEST_CASE_TEMPLATE("appends get consecutive offsets and read back exactly", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    ManualClock clock(1000);
    auto log = open_log(env.fs(), env.root() + "/p0", {}, clock);
    CHECK(log->log_start_offset() == Offset(0));
    CHECK(log->log_end_offset() == Offset(0));

    std::vector<log::Record> model;
    for (int b = 0; b < 20; ++b) {
        std::vector<log::Record> batch;
        for (int i = 0; i <= b % 4; ++i) batch.push_back(make_record(model.size() + i, 1000 + b));
        const auto result = append(*log, batch);
        CHECK(result.base_offset == Offset(static_cast<std::int64_t>(model.size())));
        CHECK(result.last_offset ==
              result.base_offset + static_cast<std::int64_t>(batch.size() - 1));
        auto placed = with_offsets(batch, result.base_offset);
        model.insert(model.end(), placed.begin(), placed.end());
    }
    CHECK(log->log_end_offset() == Offset(static_cast<std::int64_t>(model.size())));
    CHECK(read_all(*log) == model);
    // Reading from the middle of a batch drops the records before the requested offset.
    for (std::size_t from = 0; from < model.size(); ++from) {
        auto batches = log->read(Offset(static_cast<std::int64_t>(from)), 1);
        REQUIRE(batches.is_ok());
        REQUIRE(batches->size() == 1);
        CHECK(batches->front().records.front() == model[from]);
    }
}

TEST_CASE_TEMPLATE("reads outside the log are distinct errors; at the end they are empty", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock;
    auto log = open_log(env.fs(), env.root() + "/p", {}, clock);
    append(*log, {make_record(0, 0), make_record(1, 0)});

    auto at_end = log->read(Offset(2), 1024);
    REQUIRE(at_end.is_ok());
    CHECK(at_end->empty());

    auto past = log->read(Offset(3), 1024);
    CHECK(past.code() == Code::offset_out_of_range);
    CHECK(past.status().sub_code() == SubCode::above_log_end);

    auto below = log->read(Offset(-1), 1024);
    CHECK(below.code() == Code::offset_out_of_range);
    CHECK(below.status().sub_code() == SubCode::below_log_start);
}

TEST_CASE_TEMPLATE("bad batches are refused and nothing is lost", Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock;
    log::LogConfig config;
    config.max_message_bytes = 4096;
    auto log = open_log(env.fs(), env.root() + "/p", config, clock);
    const auto kept = with_offsets({make_record(0, 5)}, Offset(0));
    append(*log, kept);

    log::Record big = make_record(1, 5);
    big.value = std::string(8000, 'x');
    auto big_bytes = encode({big});
    auto too_large = log->append(big_bytes);
    CHECK(too_large.code() == Code::record_too_large);
    CHECK(too_large.status().message().find("max.message.bytes") != std::string::npos);

    auto garbled = encode({make_record(1, 5)});
    garbled.back() ^= std::byte{0xff};
    CHECK(log->append(garbled).code() == Code::invalid_argument);

    std::vector<std::byte> short_bytes(10);
    CHECK(log->append(short_bytes).code() == Code::invalid_argument);

    CHECK(log->log_end_offset() == Offset(1));
    CHECK(read_all(*log) == kept);
}

TEST_CASE_TEMPLATE("an invalid config is refused naming the setting", Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock;
    log::LogConfig config;
    config.segment_bytes = 5;
    auto opened = log::PartitionLog::open(env.fs(), env.root() + "/p", config, clock);
    CHECK(opened.code() == Code::invalid_argument);
    CHECK(opened.status().message().find("segment.bytes") != std::string::npos);
}

TEST_CASE_TEMPLATE("LogAppendTime stamps every record with the log's clock", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    ManualClock clock(50'000);
    log::LogConfig config;
    config.message_timestamp_type = log::TimestampType::log_append_time;
    auto log = open_log(env.fs(), env.root() + "/p", config, clock);
    const auto result = append(*log, {make_record(0, 1), make_record(1, 2)});
    CHECK(result.log_append_time == 50'000);
    for (const auto& r : read_all(*log)) CHECK(r.timestamp == 50'000);
}

TEST_CASE_TEMPLATE("a clean close reopens with nothing rescanned", Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(7);
    log::LogConfig config;
    config.segment_bytes = 300;
    config.index_interval_bytes = 0;
    std::vector<log::Record> model;
    {
        auto log = open_log(env.fs(), env.root() + "/p", config, clock);
        CHECK_FALSE(log->recovery_report().clean_shutdown);
        for (int i = 0; i < 30; ++i) {
            auto placed = with_offsets({make_record(i, i)}, Offset(i));
            append(*log, placed);
            model.push_back(placed.front());
        }
        CHECK(log->segments().size() > 3);
        REQUIRE(log->close().is_ok());
        CHECK(log->append(std::span<std::byte>()).code() == Code::closed);
    }
    auto log = open_log(env.fs(), env.root() + "/p", config, clock);
    CHECK(log->recovery_report().clean_shutdown);
    CHECK(log->recovery_report().segments_scanned == 0);
    CHECK(log->log_end_offset() == Offset(30));
    CHECK(read_all(*log) == model);
    // The reopened log keeps appending where it left off.
    const auto result = append(*log, {make_record(30, 30)});
    CHECK(result.base_offset == Offset(30));
}

TEST_CASE("an unusable directory is a clear error") {
    PosixEnv env;
    ManualClock clock;
    const std::string file = env.root() + "/plain-file";
    std::ofstream(file) << "x";
    auto opened = log::PartitionLog::open(env.fs(), file + "/p0", {}, clock);
    REQUIRE_FALSE(opened.is_ok());
    CHECK(opened.status().message().find(file) != std::string::npos);
    CHECK(opened.status().message().find("writable") != std::string::npos);
}

TEST_CASE_TEMPLATE("a failed fsync stops the log until it is reopened", Env, PosixEnv, MemoryEnv) {
    Env env;
    FaultFileSystem faulty(env.fs());
    ManualClock clock;
    const std::string dir = env.root() + "/p";
    const auto acknowledged = with_offsets({make_record(0, 0), make_record(1, 0)}, Offset(0));
    {
        auto log = open_log(faulty, dir, {}, clock);
        append(*log, acknowledged, {.sync = true});

        faulty.fail_sync = true;
        auto bytes = encode({make_record(2, 0)});
        auto failed = log->append(bytes, {.sync = true});
        CHECK(failed.code() == Code::io_error);
        CHECK(failed.status().sub_code() == SubCode::fail_stopped);
        // The unacknowledged batch is not published to readers.
        CHECK(log->log_end_offset() == Offset(2));

        // Even with the disk healthy again, the log refuses to go on: no retry-then-acknowledge.
        faulty.fail_sync = false;
        auto again = encode({make_record(2, 0)});
        auto refused = log->append(again);
        CHECK(refused.code() == Code::io_error);
        CHECK(refused.status().sub_code() == SubCode::fail_stopped);
        CHECK(refused.status().message().find("reopen") != std::string::npos);
        CHECK(log->flush().sub_code() == SubCode::fail_stopped);
        CHECK(read_all(*log) == acknowledged);
    }
    auto log = open_log(faulty, dir, {}, clock);
    CHECK_FALSE(log->recovery_report().clean_shutdown);
    auto recovered = read_all(*log);
    REQUIRE(recovered.size() >= acknowledged.size());
    CHECK(std::vector<log::Record>(recovered.begin(), recovered.begin() + 2) == acknowledged);
    const auto next = append(*log, {make_record(9, 0)});
    CHECK(next.base_offset == Offset(static_cast<std::int64_t>(recovered.size())));
}

TEST_CASE_TEMPLATE("a full disk fails the append, keeps the log whole and usable", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    FaultFileSystem faulty(env.fs());
    ManualClock clock;
    log::LogConfig config;
    config.segment_bytes = 200;
    auto log = open_log(faulty, env.root() + "/p", config, clock);
    std::vector<log::Record> model;
    auto add = [&](std::int64_t n) {
        auto placed = with_offsets({make_record(n, n)}, Offset(n));
        append(*log, placed);
        model.push_back(placed.front());
    };
    for (int n = 0; n < 5; ++n) add(n);

    faulty.fail_writes_no_space = true;
    for (int attempt = 0; attempt < 6; ++attempt) {
        auto bytes = encode({make_record(100, 0)});
        auto failed = log->append(bytes);
        CHECK(failed.code() == Code::no_space);
        CHECK(log->log_end_offset() == Offset(5));
    }
    faulty.fail_writes_no_space = false;
    for (int n = 5; n < 12; ++n) add(n);
    CHECK(read_all(*log) == model);
    REQUIRE(log->close().is_ok());
    log.reset();

    auto reopened = open_log(env.fs(), env.root() + "/p", config, clock);
    CHECK(reopened->recovery_report().clean_shutdown);
    CHECK(read_all(*reopened) == model);
}

// Followers: a log opened read-only while another PartitionLog writes it sees exactly the
// batches the writer completed, picks up new batches and segments on refresh(), stops quietly
// before a batch still being written, never changes a file, and lists the directory again when
// the writer removes files between the follower's listing and its opens.
#include <brook/clock.hpp>
#include <set>

#include "log/format.hpp"
#include "support/fault_fs.hpp"
#include "support/fs_util.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

std::unique_ptr<log::PartitionLog> open_writer(fs::FileSystem& fs, const std::string& dir,
                                               const log::LogConfig& config, const Clock& clock) {
    auto opened = log::PartitionLog::open(fs, dir, config, clock);
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
    return std::move(opened).value();
}

}  // namespace

TEST_CASE_TEMPLATE("a follower tails a writer across segment rolls", Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(100);
    log::LogConfig config;
    config.segment_bytes = 500;
    config.index_interval_bytes = 90;
    const std::string dir = env.root() + "/p";
    auto writer = open_writer(env.fs(), dir, config, clock);
    std::vector<log::Record> model;
    auto write = [&](int batches) {
        for (int b = 0; b < batches; ++b) {
            std::vector<log::Record> batch;
            for (int i = 0; i <= b % 3; ++i) {
                batch.push_back(make_record(static_cast<std::int64_t>(model.size()) + i,
                                            100 + static_cast<std::int64_t>(model.size()) + i));
            }
            const auto placed = with_offsets(batch, append(*writer, batch).base_offset);
            model.insert(model.end(), placed.begin(), placed.end());
        }
    };
    write(5);
    auto follower = open_follower(env.fs(), dir, config, clock);
    CHECK(follower->log_end_offset() == writer->log_end_offset());
    CHECK(read_all(*follower) == model);

    for (int round = 0; round < 6; ++round) {
        write(7);
        auto moved = follower->refresh();
        REQUIRE(moved.is_ok());
        CHECK(*moved);
        CHECK(follower->log_end_offset() == writer->log_end_offset());
        CHECK(read_all(*follower) == model);
        CHECK(follower->segments().size() == writer->segments().size());
    }
    auto still = follower->refresh();
    REQUIRE(still.is_ok());
    CHECK_FALSE(*still);
    // Time lookups agree with the writer's.
    for (std::int64_t t = 90; t < 100 + static_cast<std::int64_t>(model.size()) + 5; ++t) {
        CHECK(*follower->offset_for_timestamp(t) == *writer->offset_for_timestamp(t));
    }
    auto bytes = encode({make_record(0, 0)});
    CHECK(follower->append(bytes).code() == Code::invalid_argument);
}

TEST_CASE_TEMPLATE("a follower stops before an unfinished batch and changes nothing", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    ManualClock clock;
    const std::string dir = env.root() + "/p";
    std::vector<log::Record> model;
    {
        auto writer = open_writer(env.fs(), dir, {}, clock);
        for (int i = 0; i < 4; ++i) {
            auto placed = with_offsets({make_record(i, i)}, Offset(i));
            append(*writer, placed);
            model.push_back(placed.front());
        }
    }
    const std::string log_path = dir + "/00000000000000000000.log";
    const auto complete = read_file(env.fs(), log_path);
    auto next = encode({make_record(4, 4)});
    log::set_base_offset(next, Offset(4));
    for (std::size_t cut : {std::size_t{5}, next.size() / 2, next.size() - 1}) {
        CAPTURE(cut);
        auto partial = complete;
        partial.insert(partial.end(), next.begin(), next.begin() + static_cast<long>(cut));
        write_file(env.fs(), log_path, partial);
        auto follower = open_follower(env.fs(), dir, {}, clock);
        CHECK(follower->log_end_offset() == Offset(4));
        CHECK(read_all(*follower) == model);
        CHECK(read_file(env.fs(), log_path) == partial);

        // The writer finishes the batch: the follower picks it up.
        auto finished = complete;
        finished.insert(finished.end(), next.begin(), next.end());
        write_file(env.fs(), log_path, finished);
        auto moved = follower->refresh();
        REQUIRE(moved.is_ok());
        CHECK(*moved);
        CHECK(follower->log_end_offset() == Offset(5));
    }
}

TEST_CASE_TEMPLATE("a follower of a missing partition is not_found", Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock;
    auto opened = log::PartitionLog::open_follower(env.fs(), env.root() + "/none", {}, clock);
    CHECK(opened.code() == Code::not_found);
    CHECK_FALSE(env.fs().exists(env.root() + "/none"));
}

TEST_CASE("a follower lists again when the writer removes files between its listing and opens") {
    MemoryEnv env;
    ManualClock clock(100);
    log::LogConfig config;
    config.segment_bytes = 500;
    const std::string dir = env.root() + "/p";
    auto writer = open_writer(env.fs(), dir, config, clock);
    std::vector<log::Record> model;
    for (int i = 0; i < 60; ++i) {
        const auto placed = with_offsets({make_record(i, 100 + i)}, Offset(i));
        append(*writer, placed);
        model.push_back(placed.front());
    }
    REQUIRE(writer->segments().size() >= 6);

    // The follower reads through `reading`; after its n-th listing of the partition, the hook
    // acts as the writer's maintenance thread might at that moment.
    FaultFileSystem reading(env.fs());
    int listings = 0;
    std::set<int> retention_after;  // listings followed by a retention pass
    bool drop_snapshots = false;    // the second listing is followed by snapshot removal
    reading.after_list_dir = [&](const std::string& path) {
        if (path != dir) return;
        ++listings;
        if (retention_after.contains(listings)) {
            REQUIRE(writer->advance_log_start(writer->segments()[1].base_offset).is_ok());
        }
        if (drop_snapshots && listings == 2) {
            const auto names = env.fs().list_dir(dir);
            REQUIRE(names.is_ok());
            for (const auto& name : *names) {
                if (name.ends_with(log::format::kSnapshotSuffix)) {
                    REQUIRE(env.fs().remove_file(dir + "/" + name).is_ok());
                }
            }
        }
    };
    const auto expect_follower_matches = [&] {
        auto follower = open_follower(reading, dir, config, clock);
        CHECK(follower->log_start_offset() == writer->log_start_offset());
        CHECK(follower->log_end_offset() == writer->log_end_offset());
        CHECK(follower->segments().size() == writer->segments().size());
        std::vector<log::Record> kept;
        for (const auto& r : model) {
            if (r.offset >= writer->log_start_offset()) kept.push_back(r);
        }
        CHECK(read_all(*follower) == kept);
    };

    SUBCASE("the oldest segment goes after each of two listings") {
        retention_after = {1, 2};
        expect_follower_matches();
        CHECK(listings == 4);  // three of the segments, one of the transaction files
    }
    SUBCASE("the snapshots go after the listing that found them") {
        drop_snapshots = true;
        expect_follower_matches();
        CHECK(listings == 2);
    }
    SUBCASE("segments that keep going make the open fail, after four listings") {
        retention_after = {1, 2, 3, 4};
        auto opened = log::PartitionLog::open_follower(reading, dir, config, clock);
        CHECK(opened.code() == Code::not_found);
        CHECK(listings == 4);
    }
    reading.after_list_dir = nullptr;
}

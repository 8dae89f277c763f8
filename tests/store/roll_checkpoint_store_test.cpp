// A store with its background thread leaves each roll's producer snapshot and recovery point
// to that thread (PartitionLog::defer_roll_checkpoints): the thread writes them on request,
// with no maintenance pass due, at most once per log_flush_offset_checkpoint_interval_ms, and
// close() writes what is still pending. Without the background thread the roll writes them
// itself. The recovery point is read from the partition's directory.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <limits>
#include <optional>
#include <thread>

#include "fs/file_system.hpp"
#include "log/checkpoint.hpp"
#include "log/format.hpp"
#include "log/segment.hpp"
#include "store/store_layout.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kHourMs = 60 * 60 * 1000;

// Passes an hour apart, so none runs; each roll's checkpoint written as soon as the thread is
// free.
Options hourly_maintenance(bool background) {
    Options options;
    options.background_maintenance = background;
    options.log_cleaner_backoff_ms = kHourMs;
    options.log_retention_check_interval_ms = kHourMs;
    options.log_flush_offset_checkpoint_interval_ms = 0;
    return options;
}

std::optional<Offset> recovery_point(const std::string& dir) {
    auto read =
        log::read_checkpoint(fs::posix_file_system(), dir, log::CheckpointKind::recovery_point);
    REQUIRE_MESSAGE(read.is_ok(), read.status().to_string());
    if (!read->has_value()) return std::nullopt;
    return (*read)->offset;
}

// The base offset of the partition's newest segment, from its directory listing.
Offset active_base(const std::string& dir) {
    auto names = fs::posix_file_system().list_dir(dir);
    REQUIRE(names.is_ok());
    Offset newest(0);
    for (const auto& name : *names) {
        if (auto base = log::Segment::parse_file_name(name, log::format::kLogSuffix)) {
            newest = std::max(newest, *base);
        }
    }
    return newest;
}

// Opens a store, produces 40 records of 60 bytes with acks=all into a topic of 200-byte
// segments (so it rolls many times), and returns the store and the partition's directory.
std::pair<std::unique_ptr<Store>, std::string> rolled_store(const std::string& root,
                                                            const Options& options) {
    auto store = Store::open(root, options);
    REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
    REQUIRE((*store)->create_topic("events", 1, {{"segment.bytes", "200"}}).is_ok());
    auto producer = Producer::create(**store, {{"acks", "all"}});
    REQUIRE(producer.is_ok());
    for (int i = 0; i < 40; ++i) {
        auto report = (*producer)->produce_sync({.topic = "events",
                                                 .key = "k",
                                                 .value = std::string(60, 'x'),
                                                 .partition = PartitionId(0)});
        REQUIRE_MESSAGE(report.is_ok(), report.status().to_string());
    }
    return {std::move(*store), store::partition_dir(root, "events", PartitionId(0))};
}

}  // namespace

TEST_CASE("the background thread writes a roll's checkpoint without a maintenance pass") {
    testing::PosixEnv env;
    auto [store, dir] = rolled_store(env.root() + "/store", hourly_maintenance(true));
    const Offset base = active_base(dir);
    REQUIRE(base > Offset(0));
    // Wait for the thread, with a generous deadline: the last roll asked it to write.
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (recovery_point(dir) != base && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(1ms);
    }
    CHECK(recovery_point(dir) == base);
    CHECK(store->maintenance_stats().passes == 0);
    REQUIRE(store->close().is_ok());
}

TEST_CASE("without the background thread a roll writes its checkpoint itself") {
    testing::PosixEnv env;
    auto [store, dir] = rolled_store(env.root() + "/store", hourly_maintenance(false));
    CHECK(recovery_point(dir) == active_base(dir));
    REQUIRE(store->close().is_ok());
}

TEST_CASE("with the default interval, close() writes the roll checkpoint still held back") {
    testing::PosixEnv env;
    Options options;
    options.log_cleaner_backoff_ms = kHourMs;
    options.log_retention_check_interval_ms = kHourMs;
    REQUIRE(options.log_flush_offset_checkpoint_interval_ms == 60'000);  // Kafka's default
    auto [store, dir] = rolled_store(env.root() + "/store", options);
    const Offset base = active_base(dir);
    REQUIRE(store->close().is_ok());
    CHECK(recovery_point(dir) == base);
}

TEST_CASE("a checkpoint interval below 0 or beyond what the clock can add is refused") {
    testing::PosixEnv env;
    for (const std::int64_t ms : {std::int64_t{-1}, std::numeric_limits<std::int64_t>::max()}) {
        CAPTURE(ms);
        Options options;
        options.log_flush_offset_checkpoint_interval_ms = ms;
        auto store = Store::open(env.root() + "/store", options);
        REQUIRE_FALSE(store.is_ok());
        CHECK(store.status().code() == Code::invalid_argument);
        CHECK(store.status().message().find("log_flush_offset_checkpoint_interval_ms") !=
              std::string::npos);
    }
}

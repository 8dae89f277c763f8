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

// Produces `count` records of 60 bytes with acks=all to partition 0 of "events".
void produce(Producer& producer, int count) {
    for (int i = 0; i < count; ++i) {
        auto report = producer.produce_sync({.topic = "events",
                                             .key = "k",
                                             .value = std::string(60, 'x'),
                                             .partition = PartitionId(0)});
        REQUIRE_MESSAGE(report.is_ok(), report.status().to_string());
    }
}

// A store at `root` with a topic of 200-byte segments, so that a few records roll it, and a
// producer for it.
struct RollingStore {
    std::unique_ptr<Store> store;
    std::unique_ptr<Producer> producer;
    std::string dir;  // the partition's directory

    RollingStore(const std::string& root, const Options& options) {
        auto opened = Store::open(root, options);
        REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
        store = std::move(opened).value();
        REQUIRE(store->create_topic("events", 1, {{"segment.bytes", "200"}}).is_ok());
        auto created = Producer::create(*store, {{"acks", "all"}});
        REQUIRE(created.is_ok());
        producer = std::move(created).value();
        dir = store::partition_dir(root, "events", PartitionId(0));
    }
};

// Waits, with a generous deadline, until the recovery point is `base`.
void wait_for_recovery_point(const std::string& dir, Offset base) {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (recovery_point(dir) != base && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(1ms);
    }
    REQUIRE(recovery_point(dir) == base);
}

}  // namespace

TEST_CASE("the background thread writes a roll's checkpoint without a maintenance pass") {
    testing::PosixEnv env;
    RollingStore s(env.root() + "/store", hourly_maintenance(true));
    produce(*s.producer, 40);
    const Offset base = active_base(s.dir);
    REQUIRE(base > Offset(0));
    wait_for_recovery_point(s.dir, base);  // the last roll asked the thread to write
    CHECK(s.store->maintenance_stats().passes == 0);
    REQUIRE(s.store->close().is_ok());
}

TEST_CASE("without the background thread a roll writes its checkpoint itself") {
    testing::PosixEnv env;
    RollingStore s(env.root() + "/store", hourly_maintenance(false));
    produce(*s.producer, 40);
    CHECK(recovery_point(s.dir) == active_base(s.dir));
    REQUIRE(s.store->close().is_ok());
}

TEST_CASE("with the default interval, later rolls' checkpoints wait for it, or for close()") {
    testing::PosixEnv env;
    Options options;
    options.log_cleaner_backoff_ms = kHourMs;
    options.log_retention_check_interval_ms = kHourMs;
    REQUIRE(options.log_flush_offset_checkpoint_interval_ms == 60'000);  // Kafka's default
    RollingStore s(env.root() + "/store", options);
    while (active_base(s.dir) == Offset(0)) produce(*s.producer, 1);
    const Offset first = active_base(s.dir);
    wait_for_recovery_point(s.dir, first);  // the first roll's is written at once

    produce(*s.producer, 20);
    const Offset last = active_base(s.dir);
    REQUIRE(last > first);
    CHECK(recovery_point(s.dir) == first);  // the next may come 60 s after the first
    REQUIRE(s.store->close().is_ok());
    CHECK(recovery_point(s.dir) == last);
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
